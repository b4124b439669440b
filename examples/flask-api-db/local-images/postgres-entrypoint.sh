#!/bin/sh
# Entrypoint of the local PostgreSQL image (stack-local/postgres): the subset of the official
# image's docker-entrypoint.sh this example relies on.  On an empty data directory it runs
# initdb with POSTGRES_USER/POSTGRES_PASSWORD (or their *_FILE secret files), creates
# POSTGRES_DB, runs /docker-entrypoint-initdb.d/*.sql|*.sh, lets the network in with a
# password (pg_hba), listens on all addresses; then it execs postgres as the postgres user.
set -eu

log() { printf 'entrypoint: %s\n' "$*" >&2; }

# VAR or VAR_FILE (a secret file), not both; the value is exported as VAR.
file_env() {
    var="$1"; default="${2:-}"
    eval "val=\${$var:-}"; eval "file=\${${var}_FILE:-}"
    if [ -n "$val" ] && [ -n "$file" ]; then
        log "both $var and ${var}_FILE are set; set only one"; exit 1
    fi
    if [ -n "$file" ]; then
        [ -r "$file" ] || { log "${var}_FILE=$file is not readable"; exit 1; }
        val="$(cat "$file")"
    fi
    [ -n "$val" ] || val="$default"
    export "$var=$val"
    unset "${var}_FILE"
}

if [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
    exec "$@"
fi

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
    # Own the data and socket directories, then re-run this script as postgres.
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 2775 /var/run/postgresql
    # Read the secret files while still root (they may be readable by root only).
    file_env POSTGRES_PASSWORD
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

file_env POSTGRES_USER postgres
file_env POSTGRES_PASSWORD
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
        log "the database is uninitialized and no superuser password is set:"
        log "set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust)"
        exit 1
    fi
    log "initialising $PGDATA for user $POSTGRES_USER"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of flags
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host="$auth" $POSTGRES_INITDB_ARGS >&2
    rm -f "$pwfile"
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

    # A private server (no TCP) for the set-up steps, so no client sees a half-made database.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >&2
    psql="psql -v ON_ERROR_STOP=1 --no-psqlrc --username=$POSTGRES_USER --dbname=postgres"
    if [ "$POSTGRES_DB" != postgres ]; then
        log "creating database $POSTGRES_DB"
        $psql --set db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh) log "running $f"; . "$f" ;;
            *.sql) log "running $f"; $psql --dbname="$POSTGRES_DB" -f "$f" ;;
            *) log "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >&2
    log "initialisation done"
fi

unset POSTGRES_PASSWORD
exec "$@"
