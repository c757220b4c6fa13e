#!/usr/bin/env bash
# The entrypoint of the pod drill's stand-in for the official postgres image, doing what the
# chart relies on in the official image's docker-entrypoint.sh: a first run as a non-root user
# on an empty PGDATA refuses to go on without POSTGRES_PASSWORD, runs initdb with
# POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_INITDB_ARGS, allows password logins from anywhere,
# creates POSTGRES_DB with a temporary server started with the same arguments (so
# archive_command already runs), then execs the server. A PGDATA that holds PG_VERSION (a
# restored one) is left alone.
set -Eeo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ "$(id -u)" != 0 ]; then
  : "${PGDATA:=/var/lib/postgresql/data}"
  : "${POSTGRES_USER:=postgres}"
  : "${POSTGRES_DB:=$POSTGRES_USER}"
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
      echo 'Error: Database is uninitialized and superuser password is not specified.' >&2
      echo '       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.' >&2
      exit 1
    fi
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is word-split on purpose, as upstream
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
    printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
    # the temporary server: the container's arguments, no TCP
    PGUSER=$POSTGRES_USER PGPASSWORD=$POSTGRES_PASSWORD \
      pg_ctl -D "$PGDATA" -o "$(printf '%q ' "${@:2}" -c listen_addresses='' -p "${PGPORT:-5432}")" -w start
    if [ "$POSTGRES_DB" != postgres ]; then
      PGPASSWORD=$POSTGRES_PASSWORD psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password \
        --dbname postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo 'PostgreSQL init process complete; ready for start up.'
  else
    echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
  fi
fi

exec "$@"
