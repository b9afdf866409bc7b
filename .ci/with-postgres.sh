#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL 15 server and BOOKSLOT_TEST_POSTGRES_URL set.
#
# The server runs as the `postgres` user (initdb and pg_ctl refuse root), in a data
# folder under /tmp, on 127.0.0.1 only, and is stopped when the command ends.
# Without the server binaries: in CI (CI set) install them or fail; on a developer's
# machine run the command without PostgreSQL (its tests skip there).
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

PGBIN=$(pg_bin || true)
if [ -z "$PGBIN" ] && [ -n "${CI:-}" ]; then
    apt-get install -y postgresql >/dev/null || { apt-get update >/dev/null && apt-get install -y postgresql >/dev/null; }
    PGBIN=$(pg_bin || true)
fi
if [ -z "$PGBIN" ] || [ -n "${BOOKSLOT_TEST_POSTGRES_URL:-}" ]; then
    if [ -z "$PGBIN" ] && [ -n "${CI:-}" ]; then
        echo "error: CI is set but no PostgreSQL server binaries could be installed" >&2
        exit 1
    fi
    exec "$@"
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
        2>/dev/null || echo 54329
}

PGROOT=$(mktemp -d /tmp/pg.XXXXXX)
chown postgres:postgres "$PGROOT"
chmod 700 "$PGROOT"
PGPORT=${PGPORT:-$(free_port)}
as_pg() { runuser -u postgres -- "$@"; }
stop() {
    as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PGROOT"
}
trap stop EXIT
as_pg "$PGBIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
# Trust everyone, except the members of one role, who must give their password (the
# wrong-password test). pg_hba.conf takes the first line that matches.
sed -i '1i host all +bookslot_password_users 127.0.0.1/32 scram-sha-256' "$PGROOT/data/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGROOT -c fsync=off -c synchronous_commit=off" \
    start >/dev/null
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" testdb
as_pg "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -d testdb -c "CREATE ROLE bookslot_password_users NOLOGIN"
export BOOKSLOT_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/testdb"
"$@"
