#!/usr/bin/env bash
# Serve the helpdesk like production for a benchmark: gunicorn, 2 workers, PostgreSQL as the
# application role (row-level security on), Redis, DEBUG off. Usage: benchmarks/serve.sh [port]
# THREADS=n (default 1) runs each worker with n threads (gunicorn's gthread worker): one thread
# works while another waits for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL (postgres://...)}"
: "${REDIS_URL:?set REDIS_URL (redis://...)}"
export DJANGO_DEBUG=false HELPDESK_DB_ASSUME_ROLE=${HELPDESK_DB_ASSUME_ROLE:-helpdesk_app}
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost HELPDESK_LOG_LEVEL=WARNING
THREADS=${THREADS:-1}
if [ "$THREADS" -gt 1 ]; then CLASS=gthread; else CLASS=sync; fi
exec .venv/bin/gunicorn helpdesk.wsgi:application --bind "127.0.0.1:${1:-8100}" --workers 2 \
  --worker-class "$CLASS" --threads "$THREADS" --log-level warning
