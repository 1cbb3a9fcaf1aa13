#!/bin/sh
# Creates the two database roles on first start of the postgres container:
#   helpdesk_owner  owns the tables and runs migrations;
#   helpdesk_app    what web, realtime, worker and beat connect as: owns nothing, no BYPASSRLS,
#                   so row-level security applies to every query.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE helpdesk_owner LOGIN PASSWORD '${HELPDESK_DB_OWNER_PASSWORD}' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE helpdesk_app LOGIN PASSWORD '${HELPDESK_DB_APP_PASSWORD}' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
GRANT helpdesk_app TO helpdesk_owner;
CREATE DATABASE helpdesk OWNER helpdesk_owner;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname helpdesk <<SQL
ALTER SCHEMA public OWNER TO helpdesk_owner;
SQL
