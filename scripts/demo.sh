#!/usr/bin/env bash
# The main job on a laptop, end to end, on a filesystem repository in a temp folder:
#   1. build; start a throwaway PostgreSQL whose archive_command is wal-archiver, and the agent
#   2. write data, take a base backup, write more, remember a moment, write more
#   3. "lose" the server, restore to the remembered moment into a new data directory
#   4. start it, let it replay WAL through wal-archiver fetch, and compare row counts
# Exit 0 only if the restored server holds exactly the rows of the remembered moment.
# Needs PostgreSQL server binaries (PG_BIN, default /usr/lib/postgresql/15/bin) and a JDK >= 21.
# Run as root it runs PostgreSQL and the agent as the `postgres` user.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
find_jdk

PG_BIN=${PG_BIN:-${PGSIDECAR_PG_BIN:-/usr/lib/postgresql/15/bin}}
if [ ! -x "$PG_BIN/initdb" ]; then
  echo "demo: PostgreSQL server binaries not found in $PG_BIN (Debian: apt-get install postgresql-15, or set PG_BIN)" >&2
  exit 1
fi

step() { printf '\n== %s\n' "$*"; }
ms() { date +%s%3N; }
T_START=$(ms)

step "build (./mvnw -DskipTests package)"
./mvnw -B -q -ntp -DskipTests package

WORK=$(mktemp -d /tmp/pgsidecar-demo.XXXXXX)
chmod 755 "$WORK"
AS=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$WORK"
  AS=(runuser -u postgres --)
fi
run() { "${AS[@]}" "$@"; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
PGDATA="$WORK/pgdata"
RESTORED="$WORK/restored"
SOCK="$WORK/agent.sock"
CONF="$WORK/pgsidecar.yaml"
AGENT_PID=""
cleanup() {
  set +e
  for d in "$PGDATA" "$RESTORED"; do
    [ -f "$d/postmaster.pid" ] && run "$PG_BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
  done
  # runuser forks the JVM as its child: stop the child first, then runuser itself
  [ -n "$AGENT_PID" ] && { pkill -TERM -P "$AGENT_PID" 2>/dev/null; kill "$AGENT_PID" 2>/dev/null; wait "$AGENT_PID" 2>/dev/null; }
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
psql_() { run "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

step "start PostgreSQL (port $PORT) with archive_command = wal-archiver push"
run "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A trust >/dev/null
cat >>"$PGDATA/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
wal_level = replica
archive_mode = on
archive_command = '"$ROOT/bin/wal-archiver" push "%p" --socket "$SOCK"'
CONF
cat >"$CONF" <<YAML
cluster: demo
pgdata: $PGDATA
socket: $SOCK
http:
  admin-socket: $WORK/admin.sock   # backups, dumps, status: the CLI's socket
postgres:
  host: 127.0.0.1
  port: $PORT
  user: postgres
  bin-dir: $PG_BIN
storage:
  type: fs
  path: $WORK/repo
compression:
  algorithm: zstd
  level: 3
wal:
  spool-dir: $WORK/spool
metrics:
  port: 0
YAML
run mkdir -p "$WORK/repo"
run "$ROOT/bin/pgsidecar" agent --config "$CONF" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 600); do [ -S "$SOCK" ] && break; kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "demo: the agent did not start; its log:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
run "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/server.log" -w start >/dev/null

step "write data: pgbench -i -s 5 and a table of events"
run "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -i -s 5 -q postgres >/dev/null 2>&1
psql_ "create table events(id bigserial primary key, note text, at timestamptz default clock_timestamp())"
psql_ "insert into events(note) select 'before backup' from generate_series(1, 1000)"

step "base backup (pgsidecar backup create --wait)"
T0=$(ms)
run "$ROOT/bin/pgsidecar" --config "$CONF" backup create --wait --label demo
BACKUP_MS=$(( $(ms) - T0 ))
BACKUP_ID=$(run "$ROOT/bin/pgsidecar" --config "$CONF" backup list --output json | python3 -c 'import json,sys; b=json.load(sys.stdin); b=b.get("backups", b) if isinstance(b, dict) else b; print(b[-1]["id"])')

step "more writes; remember a moment; more writes"
psql_ "insert into events(note) select 'after backup' from generate_series(1, 1000)"
run "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -T 5 -c 2 -N postgres >/dev/null 2>&1
sleep 1
TARGET=$(psql_ "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
EXPECT=$(psql_ "select count(*) from events")
EXPECT_SUM=$(psql_ "select sum(abalance) from pgbench_accounts")
sleep 1
psql_ "insert into events(note) select 'after the moment' from generate_series(1, 1000)"
psql_ "delete from events where id <= 500"
run "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -T 3 -c 2 -N postgres >/dev/null 2>&1
LOST_COUNT=$(psql_ "select count(*) from events")
# The segment holding the last write must reach the archive before the server is "lost".
NEED=$(psql_ "select pg_walfile_name(pg_current_wal_lsn())")
psql_ "select pg_switch_wal()" >/dev/null
ARCHIVED=""
for _ in $(seq 1500); do
  ARCHIVED=$(psql_ "select coalesce(last_archived_wal, '') from pg_stat_archiver")
  [[ "$ARCHIVED" > "$NEED" || "$ARCHIVED" == "$NEED" ]] && break
  sleep 0.2
done
[[ "$ARCHIVED" > "$NEED" || "$ARCHIVED" == "$NEED" ]] || {
  echo "demo: segment $NEED was not archived within 5 minutes; agent log: $WORK/agent.log" >&2; KEEP=1; exit 1; }
echo "remembered moment: $TARGET  (events then: $EXPECT rows; at the end: $LOST_COUNT rows)"

step "lose the server (immediate stop, data directory moved away)"
run "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null
run mv "$PGDATA" "$WORK/pgdata.lost"
PGDATA="$WORK/pgdata.lost"

step "restore to $TARGET (pgsidecar restore --to $RESTORED --target-time ...)"
T0=$(ms)
run "$ROOT/bin/pgsidecar" --config "$CONF" restore --to "$RESTORED" --target-time "$TARGET" \
  --wal-archiver "$ROOT/bin/wal-archiver" --socket "$SOCK"
RESTORE_MS=$(( $(ms) - T0 ))

step "start PostgreSQL on the restored directory; it replays WAL through wal-archiver fetch"
T0=$(ms)
run "$PG_BIN/pg_ctl" -D "$RESTORED" -l "$WORK/restored.log" -w -t 300 start >/dev/null
for _ in $(seq 600); do
  [ "$(psql_ "select pg_is_in_recovery()" 2>/dev/null)" = "f" ] && break
  sleep 0.2
done
REPLAY_MS=$(( $(ms) - T0 ))
GOT=$(psql_ "select count(*) from events")
GOT_SUM=$(psql_ "select sum(abalance) from pgbench_accounts")
REPLAYED=$(grep -c 'restored log file "[0-9A-F]\{24\}"' "$WORK/restored.log" || true)
TIMELINE=$(psql_ "select timeline_id from pg_control_checkpoint()")

step "result"
printf '  %-34s %s\n' "backup used" "$BACKUP_ID (took $((BACKUP_MS / 1000)).$((BACKUP_MS % 1000 / 100)) s)"
printf '  %-34s %s\n' "restore into $RESTORED" "$((RESTORE_MS / 1000)).$((RESTORE_MS % 1000 / 100)) s"
printf '  %-34s %s\n' "WAL segments replayed (fetched)" "$REPLAYED in $((REPLAY_MS / 1000)).$((REPLAY_MS % 1000 / 100)) s, now on timeline $TIMELINE"
printf '  %-34s %s\n' "events at the moment / restored" "$EXPECT / $GOT   (lost server had $LOST_COUNT)"
printf '  %-34s %s\n' "sum(abalance) at moment / restored" "$EXPECT_SUM / $GOT_SUM"
printf '  %-34s %s\n' "total" "$(( ($(ms) - T_START) / 1000 )) s"
if [ "$GOT" = "$EXPECT" ] && [ "$GOT_SUM" = "$EXPECT_SUM" ]; then
  echo "OK: the restored server holds exactly the data of $TARGET"
  exit 0
fi
echo "MISMATCH: restored data differs from the remembered moment (logs kept in $WORK)" >&2
KEEP=1
exit 1
