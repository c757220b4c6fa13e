#!/usr/bin/env bash
# Restore, side by side: pgBackRest and pgsidecar restore the same database, each from its own
# base backup taken at the same moment and its own WAL archive, against the same Azurite (HTTPS).
#   bench/restore.sh [scale=100] [wal_mb=1024] [order=pgbackrest-first|pgsidecar-first]
# With LOCAL_REPLAY=1 (off by default: see bench/README.md, it does not work yet) the same backup is restored once more, untimed, with the source's
# own pg_wal segments copied into its pg_wal and restore_command 'false': the replay rate from
# local WAL, against which the two archive replays compare (what prefetch must keep fed).
# PROFILE_JAVA_OPTS: JVM options for that untimed restore only, e.g.
# "-XX:StartFlightRecording=filename=/tmp/restore.jfr,settings=profile": a profile of the same
# restore step that does not slow the timed one.
# RESTORE_ROUNDS=N: N rounds on the same backups, the order alternating (round 1 in ORDER), and
# the median of the ratios. RESTORE_VARIANTS='OPTS;OPTS...': in each round, ours once more per
# entry with those JVM options added, e.g. RESTORE_VARIANTS='-XX:TieredStopAtLevel=1'.
# RESTORE_JAVA_OPTS: extra JVM options for the timed `pgsidecar restore` only (e.g.
# "-XX:StartFlightRecording=filename=/tmp/restore.jfr,settings=profile" to profile the restore
# step; with KEEP_WORK=1 the work directory and its logs stay).
# One source cluster (pgbench -s SCALE) archives every segment both ways (archive_command runs
# wal-archiver push, then pgbackrest archive-push); a pgBackRest full backup and a pgsidecar
# backup are taken one after the other, then pgbench writes WAL_MB of WAL, which both archives
# receive. The source is stopped. Each tool then restores into an empty directory, and
# PostgreSQL starts there and replays the archive to its end (promotes).
# Prints, per tool: restore wall time (download + decode + unpack) and MB/s of restored data,
# WAL replay wall time (pg_ctl start to pg_is_in_recovery() = false), total; ratios
# pgsidecar/pgbackrest (target <= 1.0); and checks both restored servers hold the source's
# final rows.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SCALE=${1:-100}
WAL_MB=${2:-1024}
ORDER=${3:-pgbackrest-first}

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
secs() { python3 -c "print(f'{($2 - $1) / 1000:.1f}')"; }

bench_init
trap "exit 143" TERM INT
start_azurite_https
az_create_container pgbr
az_create_container pgsidecar
# wal-archiver's and pgsidecar's class-data archives, as an image build makes them (postgres
# cannot write target/), before anything is timed
"$ROOT/bin/wal-archiver" prepare-cache >/dev/null
"$ROOT/bin/pgsidecar" prepare-cache >/dev/null
printf '%s' "$AZ_KEY" >"$WORK/az.key"
chown postgres "$WORK/az.key" "$AZ_TRUSTSTORE"
JAVA_TLS="-Djavax.net.ssl.trustStore=$AZ_TRUSTSTORE -Djavax.net.ssl.trustStorePassword=changeit"
as_pg() { runuser -u postgres -- "$@"; }
# pgsidecar's CLI and agent as postgres (the restored directory must be postgres's own)
pgsc() { as_pg env PGSIDECAR_JAVA_OPTS="$JAVA_TLS" "$ROOT/bin/pgsidecar" --config "$WORK/agent.yaml" "$@"; }

# --- the source cluster, archiving both ways -------------------------------------------------
pg_start src <<CONF
archive_mode = on
wal_level = replica
max_wal_size = 4GB
checkpoint_timeout = 30min
synchronous_commit = off
shared_buffers = 256MB
CONF
pgbackrest_conf bench src pgbr
SOCK="$WORK/agent.sock"
cat >"$WORK/agent.yaml" <<YAML
cluster: bench
pgdata: $PGDATA_src
socket: $SOCK
http:
  admin-socket: $WORK/admin.sock   # backups, dumps, status: the CLI's socket
postgres:
  host: 127.0.0.1
  port: $PGPORT_src
  user: postgres
  bin-dir: $PG_BIN
storage:
  type: azure
  azure:
    auth: shared-key
    endpoint: $(az_endpoint)
    account: $AZ_ACCOUNT
    key-file: $WORK/az.key
    container: pgsidecar
compression:
  algorithm: zstd
  level: 3
metrics:
  port: 0
wal:
  spool-dir: $WORK/spool
YAML
chown postgres "$WORK/agent.yaml"
# the JVM's own PID (runuser does not pass SIGTERM on), so that bench_cleanup stops the agent
as_pg bash -c 'echo $$ >"$1"; shift; exec "$@"' agent "$WORK/agent.pid" env PGSIDECAR_JAVA_OPTS="$JAVA_TLS" \
  "$ROOT/bin/pgsidecar" agent --config "$WORK/agent.yaml" >"$WORK/agent.log" 2>&1 &
for _ in $(seq 200); do [ -S "$SOCK" ] && break; sleep 0.1; done
PIDS+=("$(cat "$WORK/agent.pid")")
[ -S "$SOCK" ] || { echo "the agent did not start:" >&2; cat "$WORK/agent.log" >&2; exit 1; }

pg_psql src "alter system set archive_command = '$ROOT/bin/wal-archiver push %p --socket $SOCK && pgbackrest --config=$PGBACKREST_CONF --stanza=bench archive-push %p'"
pg_psql src "select pg_reload_conf()" >/dev/null
pgbr --stanza=bench stanza-create >/dev/null

say "pgbench -i -s $SCALE"
as_pg "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PGPORT_src" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1

wait_archived() { # every segment up to the current one is in both archives
  local last
  pg_psql src "select pg_switch_wal()" >/dev/null
  last=$(pg_psql src "select pg_walfile_name(pg_current_wal_lsn() - 1)")
  for _ in $(seq 3600); do
    [[ "$(pg_psql src "select coalesce(last_archived_wal, '') from pg_stat_archiver")" > "$last" ||
       "$(pg_psql src "select coalesce(last_archived_wal, '') from pg_stat_archiver")" == "$last" ]] && return 0
    sleep 0.5
  done
  echo "archiving did not catch up to $last" >&2; return 1
}
wait_archived

say "pgBackRest full backup"
t0=$(now_ms)
pgbr --stanza=bench --type=full backup
say "  took $(secs "$t0" "$(now_ms)") s"
say "pgsidecar backup"
t0=$(now_ms)
pgsc backup create --wait >/dev/null
say "  took $(secs "$t0" "$(now_ms)") s"

say "pgbench until $WAL_MB MB of WAL"
l0=$(pg_psql src "select pg_current_wal_lsn() - '0/0'")
while [ $(( ($(pg_psql src "select pg_current_wal_lsn() - '0/0'") - l0) / 1048576 )) -lt "$WAL_MB" ]; do
  as_pg "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PGPORT_src" -U postgres -c 4 -j 2 -T 10 -N postgres >/dev/null 2>&1
done
WAL_WRITTEN=$(( ($(pg_psql src "select pg_current_wal_lsn() - '0/0'") - l0) / 1048576 ))
wait_archived
EXPECT=$(pg_psql src "select (select count(*) from pgbench_history) || ' ' || (select sum(abalance) from pgbench_accounts)")
SRC_BYTES=$(pg_psql src "select pg_database_size('postgres')")
say "source: $WAL_WRITTEN MB of WAL after the backups; history rows, sum(abalance) = $EXPECT"
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_src" -m fast stop >/dev/null
STORED_PGBR=$(az_prefix_bytes pgbr pgbackrest/backup)
STORED_OURS=$(az_prefix_bytes pgsidecar bench/base)
say "stored backup: pgBackRest $((STORED_PGBR / 1048576)) MiB, pgsidecar $((STORED_OURS / 1048576)) MiB"

# time (ms) some task waited for the CPU / for I/O, from the kernel's pressure stall information
psi_ms() { awk '/^some/ {split($5, a, "="); printf "%d", a[2] / 1000}' "/proc/pressure/$1" 2>/dev/null || echo 0; }

cat >"$WORK/timed-fetch" <<'SH'
#!/bin/bash
# timed-fetch LOG FILE COMMAND...: runs restore_command's command, appends "<file> <ms> <exit code>"
s=${EPOCHREALTIME/./}
log=$1 file=$2; shift 2
"$@"
rc=$?
e=${EPOCHREALTIME/./}
echo "$file $(( (e - s) / 1000 )) $rc" >>"$log"
exit $rc
SH
chmod 755 "$WORK/timed-fetch"

# Starts PostgreSQL on a restored directory and waits until recovery has ended; sets REPLAY_MS.
replay() { # dir log fetch-times
  local dir=$1 port t0
  port=$(free_port)
  # restore_command through a wrapper that records each call's wall time (bash's own clock, one
  # exec more per call for both tools): a later line wins in postgresql.auto.conf
  python3 - "$dir/postgresql.auto.conf" "$WORK/timed-fetch" "$3" <<'PY'
import re, sys
conf, wrapper, log = sys.argv[1:]
cmd = None
for line in open(conf):
    m = re.match(r"\s*restore_command\s*=\s*'((?:[^']|'')*)'", line)
    if m:
        cmd = m.group(1)
if cmd is None:
    sys.exit(f"no restore_command in {conf}")
with open(conf, "a") as f:
    f.write(f"restore_command = '{wrapper} {log} %f {cmd}'\n")
PY
  : >"$3"; chown postgres "$3"
  cat >>"$dir/postgresql.auto.conf" <<CONF
port = $port
unix_socket_directories = '$(dirname "$dir")'
archive_mode = off
CONF
  chown -R postgres "$dir"
  PGDATA_DIRS="${PGDATA_DIRS:-} $dir"
  sync
  t0=$(now_ms)
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$2" -t 3600 -w start >/dev/null
  until [ "$(as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc 'select pg_is_in_recovery()' postgres 2>/dev/null)" = f ]; do
    sleep 0.1
  done
  REPLAY_MS=$(( $(now_ms) - t0 ))
  GOT=$(as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc "select (select count(*) from pgbench_history) || ' ' || (select sum(abalance) from pgbench_accounts)" postgres)
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast stop >/dev/null
}

run_pgbackrest() {
  local dir="$WORK/r-pgbr/data" t0
  mkdir -p "$dir" && chown -R postgres "$WORK/r-pgbr" && chmod 700 "$dir"
  rm -f "$WORK/r-pgbr/server.log" # pg_ctl -l appends: each run counts its own segments
  say "pgbackrest restore"
  sync # the previous step's writes reach the disk before, not during, this one
  t0=$(now_ms); az0=$(cpu_s "$AZ_PID"); io0=$(psi_ms io); cpu0=$(psi_ms cpu)
  /usr/bin/time -o "$WORK/time.pgbr" -f '%U %S' runuser -u postgres -- pgbackrest --config="$PGBACKREST_CONF" \
    --stanza=bench --pg1-path="$dir" --type=default restore
  R_MS_pgbr=$(( $(now_ms) - t0 )); AZCPU_pgbr=$(python3 -c "print(round($(cpu_s "$AZ_PID") - $az0, 1))")
  PSI_pgbr="$(( $(psi_ms cpu) - cpu0 )) ms waiting for CPU, $(( $(psi_ms io) - io0 )) ms for I/O"
  R_BYTES_pgbr=$(du -sb --exclude=pg_wal "$dir" | cut -f1)
  replay "$dir" "$WORK/r-pgbr/server.log" "$WORK/fetch-times.pgbr"
  P_MS_pgbr=$REPLAY_MS GOT_pgbr=$GOT
  SEGS_pgbr=$(grep -c 'restored log file "[0-9A-F]\{24\}"' "$WORK/r-pgbr/server.log" || true)
  rm -rf "$dir"
}

run_pgsidecar() { # [extra JVM options]
  local dir="$WORK/r-ours/data" t0
  mkdir -p "$WORK/r-ours" && chown -R postgres "$WORK/r-ours"
  rm -f "$WORK/r-ours/server.log"
  say "pgsidecar restore"
  sync
  t0=$(now_ms); az0=$(cpu_s "$AZ_PID"); io0=$(psi_ms io); cpu0=$(psi_ms cpu)
  /usr/bin/time -o "$WORK/time.ours" -f '%U %S' runuser -u postgres -- env PGSIDECAR_JAVA_OPTS="$JAVA_TLS ${RESTORE_JAVA_OPTS:-} ${1:-}" \
    "$ROOT/bin/pgsidecar" --config "$WORK/agent.yaml" restore --to "$dir" --wal-archiver "$ROOT/bin/wal-archiver" \
    --socket "$SOCK" >"$WORK/r-ours.out" 2>&1 || {
    echo "pgsidecar restore failed${1:+ (with the JVM options $1)}:" >&2; tail -n 20 "$WORK/r-ours.out" >&2; exit 1; }
  R_MS_ours=$(( $(now_ms) - t0 )); AZCPU_ours=$(python3 -c "print(round($(cpu_s "$AZ_PID") - $az0, 1))")
  PSI_ours="$(( $(psi_ms cpu) - cpu0 )) ms waiting for CPU, $(( $(psi_ms io) - io0 )) ms for I/O"
  R_BYTES_ours=$(du -sb --exclude=pg_wal "$dir" | cut -f1)
  replay "$dir" "$WORK/r-ours/server.log" "$WORK/fetch-times.ours"
  P_MS_ours=$REPLAY_MS GOT_ours=$GOT
  SEGS_ours=$(grep -c 'restored log file "[0-9A-F]\{24\}"' "$WORK/r-ours/server.log" || true)
  rm -rf "$dir"
}

# The same backup restored again (untimed), replayed from the source's pg_wal copied in: no
# archive, no restore_command (it is 'false'), so replay runs at PostgreSQL's own pace.
run_local_replay() {
  local dir="$WORK/r-local/data" port t0
  mkdir -p "$WORK/r-local" && chown -R postgres "$WORK/r-local"
  say "local replay: pgsidecar restore (untimed), the source's pg_wal copied in"
  runuser -u postgres -- env PGSIDECAR_JAVA_OPTS="$JAVA_TLS ${PROFILE_JAVA_OPTS:-}" "$ROOT/bin/pgsidecar" \
    --config "$WORK/agent.yaml" restore --to "$dir" --wal-archiver "$ROOT/bin/wal-archiver" --socket "$SOCK" >/dev/null
  as_pg cp "$PGDATA_src"/pg_wal/[0-9A-F]*[0-9A-F] "$dir/pg_wal/"
  port=$(free_port)
  cat >>"$dir/postgresql.auto.conf" <<CONF
restore_command = 'false'
port = $port
unix_socket_directories = '$(dirname "$dir")'
archive_mode = off
CONF
  chown -R postgres "$dir"
  PGDATA_DIRS="${PGDATA_DIRS:-} $dir"
  sync
  t0=$(now_ms)
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$WORK/r-local/server.log" -t 3600 -w start >/dev/null
  until [ "$(as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc 'select pg_is_in_recovery()' postgres 2>/dev/null)" = f ]; do
    sleep 0.1
  done
  P_MS_local=$(( $(now_ms) - t0 ))
  GOT_local=$(as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc "select (select count(*) from pgbench_history) || ' ' || (select sum(abalance) from pgbench_accounts)" postgres)
  as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast stop >/dev/null
  rm -rf "$dir"
}

# Rounds and variants: each round restores with pgBackRest and with ours once per variant (the
# shipped flags, then each RESTORE_VARIANTS entry added to them), on the same backups; rounds
# alternate the order (round 1 in ORDER). Each run is one line in runs.tsv, read by the summary.
ROUNDS=${RESTORE_ROUNDS:-1}
VARIANTS=("")
if [ -n "${RESTORE_VARIANTS:-}" ]; then IFS=';' read -r -a more <<<"$RESTORE_VARIANTS"; VARIANTS+=("${more[@]}"); fi
: >"$WORK/runs.tsv"
record_run() { # round tool variant: appends the run just made to runs.tsv
  local u s r b p segs got az psi fetch
  if [ "$2" = pgbackrest ]; then
    read -r u s <"$WORK/time.pgbr"; r=$R_MS_pgbr b=$R_BYTES_pgbr p=$P_MS_pgbr segs=$SEGS_pgbr got=$GOT_pgbr
    az=$AZCPU_pgbr psi=$PSI_pgbr fetch="$WORK/fetch-times.pgbr"
  else
    read -r u s <"$WORK/time.ours"; r=$R_MS_ours b=$R_BYTES_ours p=$P_MS_ours segs=$SEGS_ours got=$GOT_ours
    az=$AZCPU_ours psi=$PSI_ours fetch="$WORK/fetch-times.ours"
  fi
  # (tab is whitespace to read: an empty field would vanish, so no variant is "-")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${3:--}" "$r" "$b" "$p" "$segs" "$u" "$s" \
    "$az" "$psi" "$got" "$(python3 - "$fetch" <<'PY'
import re, statistics, sys
seg = [int(ms) for n, ms, rc in (l.split() for l in open(sys.argv[1])) if rc == "0" and re.fullmatch(r"[0-9A-F]{24}", n)]
print(f"{statistics.median(seg):.0f}" if seg else "-")
PY
)" >>"$WORK/runs.tsv"
  if [ "$got" != "$EXPECT" ]; then
    echo "MISMATCH: $2 ${3:+(variant $3) }restored rows '$got', the source has '$EXPECT'" >&2; exit 1
  fi
}
for round in $(seq "$ROUNDS"); do
  first=$ORDER
  if [ $((round % 2)) = 0 ]; then
    [ "$ORDER" = pgsidecar-first ] && first=pgbackrest-first || first=pgsidecar-first
  fi
  [ "$ROUNDS" = 1 ] && [ ${#VARIANTS[@]} = 1 ] || say "round $round of $ROUNDS, $first"
  if [ "$first" = pgbackrest-first ]; then run_pgbackrest; record_run "$round" pgbackrest ""; fi
  for v in "${VARIANTS[@]}"; do
    [ -z "$v" ] || say "  variant: $v"
    run_pgsidecar "$v"; record_run "$round" pgsidecar "$v"
  done
  if [ "$first" = pgsidecar-first ]; then run_pgbackrest; record_run "$round" pgbackrest ""; fi
done
P_MS_local=0 GOT_local=skipped
# Off by default: the source's pg_wal no longer holds the backup's first segments (its
# checkpoints recycled them), so this replay cannot start yet; it needs the archive's segments.
[ "${LOCAL_REPLAY:-0}" = 0 ] || run_local_replay

echo
echo "restore of pgbench -s $SCALE ($((SRC_BYTES / 1048576)) MiB database) + $WAL_WRITTEN MB of WAL, $(date -u +%FT%TZ), order $ORDER, $ROUNDS round(s)"
python3 - "$WORK/runs.tsv" "$WAL_WRITTEN" <<'PY'
import statistics, sys
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
for r in runs:
    r[2] = "" if r[2] == "-" else r[2]
wal = int(sys.argv[2])
def name(r):
    return r[1] + (f" [{r[2]}]" if r[2] else "")
for r in runs:
    rms, b, p = int(r[3]), int(r[4]), int(r[5])
    print(f"  round {r[0]} {name(r):12s} restore {rms/1000:6.1f} s  {b/1e6/(rms/1000):6.1f} MB/s ({b/1e6:.0f} MB)"
          f"   replay {p/1000:6.1f} s ({r[6]} segments, {wal/(p/1000):5.1f} MB/s of WAL, restore_command p50 {r[12]} ms)"
          f"   total {(rms+p)/1000:6.1f} s   CPU {r[7]} + {r[8]} s, Azurite {r[9]} s; {r[10]}")
base = {r[0]: r for r in runs if r[1] == "pgbackrest"}
for v in dict.fromkeys(r[2] for r in runs if r[1] == "pgsidecar"):
    mine = [r for r in runs if r[1] == "pgsidecar" and r[2] == v]
    ratios = [(int(r[3]) / int(base[r[0]][3]), int(r[5]) / int(base[r[0]][5]),
               (int(r[3]) + int(r[5])) / (int(base[r[0]][3]) + int(base[r[0]][5]))) for r in mine]
    label = "pgsidecar" + (f" [{v}]" if v else "")
    each = ", ".join(f"{a:.2f}" for a, _, _ in ratios)
    med = [statistics.median(x[i] for x in ratios) for i in range(3)]
    cpu = statistics.median(float(r[7]) + float(r[8]) for r in mine)
    cpu_pgbr = statistics.median(float(r[7]) + float(r[8]) for r in base.values())
    print(f"  ratio {label}/pgbackrest, median of {len(ratios)}: restore {med[0]:.2f}  replay {med[1]:.2f}"
          f"  total {med[2]:.2f}  (restore step per round: {each}; CPU {cpu:.1f} against {cpu_pgbr:.1f} s)")
PY
if [ "$P_MS_local" != 0 ]; then
  python3 - "$P_MS_local" "$P_MS_ours" "$P_MS_pgbr" "$WAL_WRITTEN" <<'PY'
import sys
l, o, b, w = map(int, sys.argv[1:])
print(f"  replay from local WAL (pg_wal copied in): {l/1000:.1f} s, {w/(l/1000):5.1f} MB/s of WAL; from the archive:"
      f" pgsidecar {w/(o/1000):5.1f} MB/s ({l/o:.2f} of local's rate), pgbackrest {w/(b/1000):5.1f} MB/s ({l/b:.2f})")
PY
  echo "  rows after the local replay: $GOT_local"
fi
echo "  every restored server holds the source's final rows ($EXPECT)"
# the curves (bench/report) get round 1 with the shipped flags, one point per tool and size
while IFS=$'\t' read -r round tool variant r b p segs u s _; do
  [ "$round" = 1 ] && [ "$variant" = - ] || continue
  if [ "$tool" = pgbackrest ]; then extra="process_max=${PGBR_PROCESS_MAX:-2}"; else extra="concurrency=${PGSIDECAR_STORAGE_AZURE_CONCURRENCY:-4}"; fi
  bench_record tool="$tool" scale="$SCALE" order="$ORDER" restore_ms="$r" replay_ms="$p" restored_bytes="$b" db_bytes="$SRC_BYTES" \
    wal_mb="$WAL_WRITTEN" segments="$segs" cpu_user_s="$u" cpu_sys_s="$s" "$extra"
done <"$WORK/runs.tsv"
