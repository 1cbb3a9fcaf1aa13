#!/usr/bin/env bash
# Journeys ingestion benchmark (issue "Journeys", "Speed"): events per second through the API.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_journeys REDIS_URL=redis://127.0.0.1:6379/0 \
#     benchmarks/journeys_ingest.sh
#
# Needs the tenant seeded by benchmarks/journeys_seed.py (500,000 customers, 10,000,000 events).
# Serves with gunicorn (2 sync workers, benchmarks/serve.sh) as the application role under
# row-level security, then wrk POSTs batches of BATCH (500) new events for random existing
# customers (external ids c0..c499999), 30% of them stage events of the two journeys, for DURATION
# with CONNECTIONS connections. Every event is new (unique ids), so each is validated, matched to
# its customer, stored, and moves the customer's journey positions in the same request.
# Prints requests/s, latency, and the events/s counted in the database before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}" "${REDIS_URL:?set REDIS_URL}"
PORT=${PORT:-8110}
DURATION=${DURATION:-60s}
CONNECTIONS=${CONNECTIONS:-4}
export BATCH=${BATCH:-500} CUSTOMERS=${CUSTOMERS:-500000}
# A benchmark sends more batches than the per-tenant abuse limit allows (3,000/minute by default).
export HELPDESK_RATE_EVENTS=${HELPDESK_RATE_EVENTS:-1000000/minute}
SLUG=${JOURNEYS_BENCH_SLUG:-jbench}
BASE="http://127.0.0.1:${PORT}"

count_events() {
  psql "$DATABASE_URL" -tAc "SELECT count(*) FROM journeys_journeyevent"
}

# CPU seconds (user + system) used so far by the gunicorn workers and the PostgreSQL backends
# serving them: the cost per event, whatever else the machine is running.
server_cpu() {
  local pids
  pids="$(pgrep -P "$SERVER" | tr '\n' ' ') $(psql "$DATABASE_URL" -tAc "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()")"
  python3 -c "
import os, sys
ticks = os.sysconf('SC_CLK_TCK')
total = 0
for pid in sys.argv[1:]:
    try:
        fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        pass
print(total / ticks)" $pids
}

API_KEY=$(HELPDESK_DB_ASSUME_ROLE=helpdesk_app .venv/bin/python manage.py shell -c "
from helpdesk.tenancy.models import Tenant
from helpdesk.tenancy.services import api_key_create
t = Tenant.objects.get(slug='$SLUG')
print(api_key_create(tenant=t, actor=None, name='ingest bench', scopes=['ingest:events'])[1])" | tail -1)
export API_KEY

# Connections live through the run, so the CPU of their PostgreSQL backends can be counted.
HELPDESK_DB_CONN_MAX_AGE=3600 benchmarks/serve.sh "$PORT" > /tmp/journeys-bench-gunicorn.log 2>&1 &
SERVER=$!
LUA=$(mktemp --suffix .lua)
trap 'kill $SERVER 2>/dev/null || true; rm -f "$LUA"' EXIT
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done

cat > "$LUA" <<'EOF'
-- One batch of BATCH new events per request: unique ids per thread, random existing customers.
local names = {  -- 30 names, 9 of them stage events: 30% of the events move a journey
  "Page viewed", "Page viewed", "Page viewed", "Page viewed", "Page viewed", "Page viewed",
  "Page viewed", "Page viewed", "Search performed", "Search performed", "Feature used",
  "Feature used", "Feature used", "Feature used", "Settings opened", "Report exported",
  "Report exported", "Page viewed", "Search performed", "Feature used", "Page viewed",
  "Cart viewed", "Product added", "Checkout started", "Payment started", "Order confirmed",
  "Signed up", "Email verified", "Profile completed", "Project created",
}
local batch = tonumber(os.getenv("BATCH"))
local customers = tonumber(os.getenv("CUSTOMERS"))
local key = os.getenv("API_KEY")
local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  math.randomseed(os.time() * 100 + tid)
  prefix = string.format("w%d-%d-", os.time(), tid)
  n = 0
  failures = 0
end

function request()
  local ts = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local parts = {}
  for i = 1, batch do
    n = n + 1
    parts[i] = string.format(
      '{"id":"%s%d","name":"%s","customer_id":"c%d","timestamp":"%s","properties":{"n":%d}}',
      prefix, n, names[math.random(#names)], math.random(0, customers - 1), ts, i)
  end
  local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", nil,
    {["Authorization"] = "Api-Key " .. key, ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures <= 3 then print("status " .. status .. ": " .. string.sub(body, 1, 300)) end
  elseif not string.find(body, '"rejected":0', 1, true) then
    print("refused events: " .. string.sub(body, 1, 300))
  end
end
EOF

URL="$BASE/api/v1/t/$SLUG/events/"
echo "== warm-up (5 s)"
wrk -t2 -c"$CONNECTIONS" -d5s -s "$LUA" "$URL" | grep -E "Requests/sec|Non-2xx" || true
BEFORE=$(count_events)
CPU_BEFORE=$(server_cpu)
START=$(date +%s.%N)
echo "== ingestion: batches of $BATCH, $CONNECTIONS connections, $DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$LUA" "$URL" \
  | grep -E "Requests/sec|^\s+(50|90|99)%|Non-2xx|Socket errors|status|refused"
END=$(date +%s.%N)
CPU_AFTER=$(server_cpu)
AFTER=$(count_events)
python3 -c "
stored = $AFTER - $BEFORE
seconds = $END - $START
cpu = $CPU_AFTER - $CPU_BEFORE
print(f'events stored: {stored:,} in {seconds:.1f} s = {stored / seconds:,.0f} events/s')
print(f'server CPU (2 gunicorn workers + their PostgreSQL backends): {cpu:.1f} s = '
      f'{cpu / stored * 1e6:.0f} CPU-µs per event; on 2 dedicated cores that is '
      f'{2 * stored / cpu:,.0f} events/s')
print('load average during the run:', open('/proc/loadavg').read().split()[:3])"
