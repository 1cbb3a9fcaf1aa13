#!/usr/bin/env bash
# Agent workspace benchmark (issue: agent workspace, "Speed").
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench REDIS_URL=redis://127.0.0.1:6379/3 \
#     benchmarks/workspace.sh            # seeds once (100k tickets / 400k messages), then measures
#
# Serves with gunicorn (2 sync workers) as the application role under row-level security, then runs
# wrk with 4 connections for DURATION seconds against: the queue page, random ticket pages, and
# ticket creation through the API. Prints requests/s and latency percentiles.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}" "${REDIS_URL:?set REDIS_URL}"
PORT=${PORT:-8100}
DURATION=${DURATION:-30s}
BASE="http://127.0.0.1:${PORT}"
export SLUG=${SLUG:-bench}

if ! .venv/bin/python manage.py shell -c "from helpdesk.tenancy.models import Tenant; import sys; sys.exit(0 if Tenant.objects.filter(slug='$SLUG').exists() else 1)" 2>/dev/null; then
  .venv/bin/python manage.py migrate -v0
  .venv/bin/python manage.py db_app_role
  HELPDESK_DB_ASSUME_ROLE=helpdesk_app .venv/bin/python manage.py seed_bench --slug "$SLUG" | tee /tmp/seed_bench.out
  psql "$DATABASE_URL" -qc "VACUUM ANALYZE"
fi
API_KEY=${API_KEY:-$(HELPDESK_DB_ASSUME_ROLE=helpdesk_app .venv/bin/python manage.py shell -c "
from helpdesk.tenancy.models import Tenant, Membership
from helpdesk.tenancy.services import api_key_create
t = Tenant.objects.get(slug='$SLUG')
admin = Membership.objects.filter(tenant=t, role='admin').first().user
print(api_key_create(tenant=t, actor=admin, name='bench run', scopes=['read', 'write'])[1])" | tail -1)}
export API_KEY

benchmarks/serve.sh "$PORT" > /tmp/bench-gunicorn.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done

export COOKIE=$(.venv/bin/python benchmarks/login.py "$BASE" "agent0@$SLUG.test" bench-pass-123)
export MAX_TICKET=100000
# warm up every worker
wrk -t2 -c4 -d3s -s benchmarks/cookie_get.lua "$BASE/t/$SLUG/queue/" >/dev/null

run() {
  local name=$1; shift
  echo "== $name"
  wrk -t2 -c4 -d"$DURATION" --latency "$@" | grep -E "Requests/sec|^\s+(50|90|99)%|Non-2xx|Socket errors"
}
run "queue page (HTML with 50 rows)" -s benchmarks/cookie_get.lua "$BASE/t/$SLUG/queue/"
run "ticket page (random of 100,000)" -s benchmarks/ticket_page.lua "$BASE"
run "ticket creation (API)" -s benchmarks/ticket_create.lua "$BASE"
