#!/usr/bin/env bash
# Inbound email webhook benchmark (issue: intake channels, "Speed": at least 200 messages per
# second stored and queued with 2 gunicorn workers on PostgreSQL, p99 under 100 ms).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_email REDIS_URL=redis://127.0.0.1:6379/5 \
#     benchmarks/email_webhook.sh
#
# Serves with gunicorn (2 sync workers) as the application role under row-level security, then runs
# wrk with CONNECTIONS connections for DURATION seconds POSTing ~1.6 KB multipart emails (each with
# its own Message-ID, 5,000 senders) authenticated by an API key with the ingest:email scope. Every
# 202 is a message stored (InboundEmail row + raw file) and its processing task queued in Redis; no
# worker runs, so the queue only grows. Afterwards the script checks that the rows and the queued
# tasks match wrk's request count, then empties the bench tenant's queue (use a Redis database of
# its own: the script purges the Celery queue of REDIS_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}" "${REDIS_URL:?set REDIS_URL}"
PORT=${PORT:-8101}
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-4}
BASE="http://127.0.0.1:${PORT}"
export SLUG=${SLUG:-mailbench}
export RUN=${RUN:-$(date +%s)}
export HELPDESK_MEDIA_ROOT=${HELPDESK_MEDIA_ROOT:-$(mktemp -d /tmp/helpdesk-bench-media-XXXX)}
# A benchmark sends faster than the per-tenant abuse limit allows (600/minute by default).
export HELPDESK_RATE_EMAIL_INBOUND=${HELPDESK_RATE_EMAIL_INBOUND:-1000000/minute}

.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py db_app_role >/dev/null
API_KEY=${API_KEY:-$(HELPDESK_DB_ASSUME_ROLE=helpdesk_app .venv/bin/python manage.py shell -c "
from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.services import api_key_create, tenant_create
tenant = Tenant.objects.filter(slug='$SLUG').first()
if tenant is None:
    admin, _ = User.objects.get_or_create(email='admin@$SLUG.test')
    tenant = tenant_create(name='Mail bench', slug='$SLUG', admin=admin)
print(api_key_create(tenant=tenant, actor=None, name='bench run', scopes=['ingest:email'])[1])" | tail -1)}
export API_KEY
TENANT_ID=$(psql "$DATABASE_URL" -tAc "SELECT id FROM tenancy_tenant WHERE slug = '$SLUG'")
count_rows() { psql "$DATABASE_URL" -tAc "SELECT count(*) FROM tickets_inboundemail WHERE tenant_id = $TENANT_ID"; }
queue_length() { redis-cli -u "$REDIS_URL" llen default; }

benchmarks/serve.sh "$PORT" > /tmp/bench-email-gunicorn.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done

RUN="$RUN-warmup" wrk -t2 -c"$CONNECTIONS" -d3s -s benchmarks/email_webhook.lua "$BASE" >/dev/null
rows_before=$(count_rows)
queued_before=$(queue_length)
# CPU used by the server side (gunicorn workers and their PostgreSQL backends), to tell the cost per
# message apart from the load other programs put on a shared machine.
web_pids() { pgrep -P "$SERVER"; }
db_pids() {
  psql "$DATABASE_URL" -tAc "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
    AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
}
cpu_ticks() { for pid in "$@"; do awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'; }
web_before=$(cpu_ticks $(web_pids))
db_before=$(cpu_ticks $(db_pids))

echo "== inbound email webhook: wrk -t2 -c$CONNECTIONS -d$DURATION (2 gunicorn workers, PostgreSQL, RLS)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s benchmarks/email_webhook.lua "$BASE" \
  | tee /tmp/bench-email-wrk.out \
  | grep -E "requests in|Requests/sec|^\s+(50|75|90|99)%|Non-2xx|Socket errors"

web=$(( $(cpu_ticks $(web_pids)) - web_before ))
db=$(( $(cpu_ticks $(db_pids)) - db_before ))
requests=$(awk '/requests in/ {print $1}' /tmp/bench-email-wrk.out)
stored=$(( $(count_rows) - rows_before ))
queued=$(( $(queue_length) - queued_before ))
echo "requests answered: $requests; rows stored: $stored; processing tasks queued: $queued"
awk -v w="$web" -v d="$db" -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  web = w * 1000 / hz / n; db = d * 1000 / hz / n
  printf "server CPU per message: %.2f ms gunicorn + %.2f ms PostgreSQL; on 2 cores of its own: ~%d messages/s\n", web, db, 2000 / (web + db) }'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
.venv/bin/celery -A helpdesk purge -f -Q default >/dev/null
