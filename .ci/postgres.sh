#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, independent of any system cluster:
#
#   .ci/postgres.sh start DIR   initdb into DIR (an empty directory), start it on 127.0.0.1 on a free port with its
#                               socket in DIR, create a database, print its postgres:// URL on stdout
#   .ci/postgres.sh stop DIR    stop the cluster and remove DIR
#
# Debian's server binaries (/usr/lib/postgresql/<version>/bin, the newest) unless PG_BIN names another folder.
# PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` user.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

bindir() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$newest" ]; then echo "$newest"; return; fi
  command -v initdb >/dev/null && dirname "$(command -v initdb)" && return
  die "no PostgreSQL server found (install Debian's postgresql, or set PG_BIN to the folder holding initdb and pg_ctl)"
}

# Runs a server program as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

start() {
  local dir=$1 bin port password
  [ -d "$dir" ] || die "start: $dir is not a directory"
  bin=$(bindir)
  # A random password with scram auth: the port is on loopback, but other local users must not get in.
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  (umask 077 && printf '%s\n' "$password" >"$dir/pwfile")
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; fi
  # --no-sync and fsync=off: the cluster is thrown away, durability across a power cut is not under test here.
  as_owner "$bin/initdb" -D "$dir/data" -U lethe --pwfile="$dir/pwfile" -A scram-sha-256 -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  rm -f "$dir/pwfile"
  port=$(free_port)
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; die "the server did not start (log above)"; }
  PGPASSWORD=$password "$bin/createdb" -h 127.0.0.1 -p "$port" -U lethe lethe_test
  echo "postgres://lethe:$password@127.0.0.1:$port/lethe_test"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true; fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:?usage: postgres.sh start DIR}" ;;
  stop) stop "${2:?usage: postgres.sh stop DIR}" ;;
  *) die "usage: postgres.sh start DIR | stop DIR" ;;
esac
