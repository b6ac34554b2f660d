#!/bin/sh
# docker-compose.yml's `temporal-schema`, in temporalio/admin-tools: creates Temporal's two
# databases in the shared Postgres and brings their schemas up to date. Safe on every start: an
# existing database only gets its pending schema versions.
set -eu

SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

sql_tool() {
  # The password comes from SQL_PASSWORD in the environment, never from the command line.
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

set_up() {
  db="$1"
  versioned="$2"
  if sql_tool --db "$db" create; then
    echo "created database $db"
    sql_tool --db "$db" setup-schema -v 0.0
  else
    echo "database $db exists: applying pending schema versions only"
  fi
  sql_tool --db "$db" update-schema -d "$versioned"
}

set_up temporal "$SCHEMA_DIR/temporal/versioned"
set_up temporal_visibility "$SCHEMA_DIR/visibility/versioned"
echo 'Temporal schemas are up to date'
