#!/usr/bin/env bash
# Metrics benchmark (issue "Empathy metrics", "At scale").
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_metrics REDIS_URL=redis://127.0.0.1:6379/5 \
#     benchmarks/metrics.sh      # seeds once (1,000,000 tickets, 300,000 CSAT, 100,000 NPS), then measures
#
# 1. Seeds one tenant with COPY as the owner role (PostgreSQL refuses COPY FROM into tables with
#    row-level security for the application role), builds the rollups with
#    `manage.py metrics_rebuild` as the application role (timed) and runs VACUUM ANALYZE.
# 2. Times the dashboard's data in-process (benchmarks/metrics_measure.py data).
# 3. Serves with gunicorn (benchmarks/serve.sh: 2 sync workers, DEBUG off, app role, Redis) and
#    times the full page: sequential GETs (p50/p90/p99) and wrk with 2 connections.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}" "${REDIS_URL:?set REDIS_URL}"
PORT=${PORT:-8100}
RUNS=${RUNS:-60}
DURATION=${DURATION:-20s}
SLUG=${SLUG:-metricsbench}
BASE="http://127.0.0.1:${PORT}"
APP="env HELPDESK_DB_ASSUME_ROLE=helpdesk_app"

if ! .venv/bin/python manage.py shell -c "from helpdesk.tenancy.models import Tenant; import sys; sys.exit(0 if Tenant.objects.filter(slug='$SLUG').exists() else 1)" 2>/dev/null; then
  .venv/bin/python manage.py migrate -v0
  .venv/bin/python manage.py db_app_role
  /usr/bin/time -f "seed_metrics_bench: %e s, %M KiB max RSS" \
    .venv/bin/python manage.py seed_metrics_bench --slug "$SLUG" | tee /tmp/seed_metrics.out
  /usr/bin/time -f "metrics_rebuild: %e s, %M KiB max RSS" \
    $APP .venv/bin/python manage.py metrics_rebuild --tenant "$SLUG"
  psql "$DATABASE_URL" -qc "VACUUM ANALYZE"
fi

echo "== the dashboard's data, in-process"
$APP .venv/bin/python benchmarks/metrics_measure.py data --slug "$SLUG" --runs "$RUNS"

benchmarks/serve.sh "$PORT" > /tmp/bench-metrics-gunicorn.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
COOKIE=$(.venv/bin/python benchmarks/login.py "$BASE" "manager@$SLUG.test" bench-pass-123)
export COOKIE

echo "== the full page over HTTP (gunicorn, 2 workers)"
.venv/bin/python benchmarks/metrics_measure.py page --base "$BASE" --runs "$RUNS" \
  --path "/t/$SLUG/dashboards/"
.venv/bin/python benchmarks/metrics_measure.py page --base "$BASE" --runs "$RUNS" \
  --path "/t/$SLUG/dashboards/?period=30d"
.venv/bin/python benchmarks/metrics_measure.py page --base "$BASE" --runs 20 \
  --path "/t/$SLUG/me/metrics/?agent=$(.venv/bin/python manage.py shell -c "from helpdesk.accounts.models import User; print(User.objects.get(email='agent0@$SLUG.test').pk)" | tail -1)"
echo "== wrk, 2 connections, $DURATION"
wrk -t2 -c2 -d"$DURATION" --latency -s benchmarks/cookie_get.lua "$BASE/t/$SLUG/dashboards/" \
  | grep -E "Requests/sec|^\s+(50|90|99)%|Non-2xx|Socket errors"
