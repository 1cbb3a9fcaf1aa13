#!/usr/bin/env bash
# Serve the helpdesk like production for a benchmark: gunicorn, 2 workers, PostgreSQL as the
# application role (row-level security on), Redis, DEBUG off. Usage: benchmarks/serve.sh [port]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL (postgres://...)}"
: "${REDIS_URL:?set REDIS_URL (redis://...)}"
export DJANGO_DEBUG=false HELPDESK_DB_ASSUME_ROLE=${HELPDESK_DB_ASSUME_ROLE:-helpdesk_app}
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost HELPDESK_LOG_LEVEL=WARNING
exec .venv/bin/gunicorn helpdesk.wsgi:application --bind "127.0.0.1:${1:-8100}" --workers 2 \
  --worker-class sync --log-level warning
