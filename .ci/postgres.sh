#!/usr/bin/env bash
# A throwaway PostgreSQL server for the ledger tests: installs Debian's postgresql if it is
# missing, creates a cluster in a temporary folder listening on a Unix socket there only
# (no TCP port), and prints the database URL. Stop it with: .ci/postgres.sh stop DIR
#   usage: eval "$(.ci/postgres.sh start)"   -> sets PBR_TEST_POSTGRES_URL and PBR_TEST_POSTGRES_DIR
set -euo pipefail
action=${1:-start}
find_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    return 1
}
if [ "$action" = stop ]; then
    dir=${2:?usage: postgres.sh stop DIR}
    bin=$(find_bin)
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    exit 0
fi
if ! bin=$(find_bin); then
    echo "installing Debian's postgresql ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
fi
dir=$(mktemp -d /tmp/pbr-pg.XXXXXX)
chown postgres "$dir"
user=postgres
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] || user=$(id -un)
run "$bin/initdb" -D "$dir/data" -U "$user" -A trust --no-sync -E UTF8 >/dev/null
run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-k $dir -c listen_addresses='' -c fsync=off -c max_connections=50" start >/dev/null
run "$bin/createdb" -h "$dir" -U "$user" pbr_test
echo "export PBR_TEST_POSTGRES_URL='postgresql+psycopg://$user@/pbr_test?host=$dir'"
echo "export PBR_TEST_POSTGRES_DIR='$dir'"
