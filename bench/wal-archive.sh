#!/usr/bin/env bash
# Sustained WAL archiving, side by side: pgBackRest archive-push (archive-async=y, process-max=2,
# zst level 3) and pgsidecar (wal-archiver -> agent), each on a fresh cluster, against the same
# Azurite (HTTPS), while pgbench writes as fast as it can.
#   bench/wal-archive.sh [seconds=60] [scale=10]
# Prints WAL generated and archived MB/s, drain time, peak .ready backlog, agent RSS,
# archive_command wall times (warm = already uploaded by look-ahead), and the ratios.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECONDS_RUN=${1:-60}
SCALE=${2:-10}
SEG=$((16 * 1024 * 1024))

bench_init
start_azurite_https
az_create_container pgbr
az_create_container pgsidecar

common_conf() {
  cat <<CONF
archive_mode = on
wal_level = replica
max_wal_size = 4GB
checkpoint_timeout = 30min
synchronous_commit = off
shared_buffers = 256MB
CONF
}

sample_backlog() { # pgdata outfile: peak .ready count until killed
  local peak=0 n
  while true; do
    n=$(ls "$1/pg_wal/archive_status" 2>/dev/null | grep -c '\.ready$' || true)
    [ "$n" -gt "$peak" ] && peak=$n && echo "$peak" >"$2"
    sleep 0.2
  done
}

run_load() { # name label -> prints a result line, sets RESULT_<label>
  local name=$1 label=$2 pgdata_var="PGDATA_$1" port_var="PGPORT_$1"
  local pgdata=${!pgdata_var} port=${!port_var}
  runuser -u postgres -- "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
  pg_psql "$name" "select pg_switch_wal()" >/dev/null
  # let the initial load drain so both tools start the timed run from an empty backlog
  for _ in $(seq 600); do
    [ "$(ls "$pgdata/pg_wal/archive_status" | grep -c '\.ready$' || true)" -eq 0 ] && break; sleep 0.5
  done
  local a0 l0 t0 t1 l1 a1 tdrain peakf="$WORK/$label.peak"
  echo 0 >"$peakf"
  a0=$(pg_psql "$name" "select archived_count from pg_stat_archiver")
  l0=$(pg_psql "$name" "select pg_current_wal_lsn() - '0/0'")
  sample_backlog "$pgdata" "$peakf" & local sampler=$!
  t0=$(now_ms)
  runuser -u postgres -- "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c 4 -j 2 -T "$SECONDS_RUN" -N postgres >/dev/null 2>&1
  t1=$(now_ms)
  l1=$(pg_psql "$name" "select pg_current_wal_lsn() - '0/0'")
  a1=$(pg_psql "$name" "select archived_count from pg_stat_archiver")
  pg_psql "$name" "select pg_switch_wal()" >/dev/null
  for _ in $(seq 1200); do
    [ "$(ls "$pgdata/pg_wal/archive_status" | grep -c '\.ready$' || true)" -eq 0 ] && break; sleep 0.25
  done
  tdrain=$(now_ms)
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  local a2 failed
  a2=$(pg_psql "$name" "select archived_count from pg_stat_archiver")
  failed=$(pg_psql "$name" "select failed_count from pg_stat_archiver")
  python3 - "$label" "$l0" "$l1" "$a0" "$a1" "$a2" "$t0" "$t1" "$tdrain" "$(cat "$peakf")" "$failed" "$SEG" <<'PY'
import sys
label, l0, l1, a0, a1, a2, t0, t1, td, peak, failed, seg = sys.argv[1:]
l0, l1, a0, a1, a2, t0, t1, td, seg = map(int, (l0, l1, a0, a1, a2, t0, t1, td, seg))
dur = (t1 - t0) / 1000
gen = (l1 - l0) / 1e6 / dur
arch_during = (a1 - a0) * seg / 1e6 / dur
arch_total = (a2 - a0) * seg / 1e6 / ((td - t0) / 1000)
print(f"{label:10s} generated {gen:7.1f} MB/s  archived during load {arch_during:7.1f} MB/s  "
      f"archived incl. drain {arch_total:7.1f} MB/s  drain {(td - t1)/1000:5.1f} s  "
      f"peak .ready {peak:>3s}  segments {a2 - a0}  archive failures {failed}")
open(f"/tmp/walbench.{label}", "w").write(f"{arch_total} {peak}\n")
PY
}

# --- pgBackRest ---------------------------------------------------------------------------
common_conf | pg_start peer
pgbackrest_conf bench peer pgbr
pg_psql peer "alter system set archive_command = 'pgbackrest --config=$PGBACKREST_CONF --stanza=bench archive-push %p'"
pg_psql peer "select pg_reload_conf()" >/dev/null
pgbr --stanza=bench stanza-create >/dev/null
run_load peer pgbackrest
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_peer" -m fast stop >/dev/null

# --- pgsidecar ----------------------------------------------------------------------------
common_conf | pg_start ours
SOCK="$WORK/agent.sock"
cat >"$WORK/agent.yaml" <<YAML
cluster: bench
pgdata: $PGDATA_ours
socket: $SOCK
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
printf '%s' "$AZ_KEY" >"$WORK/az.key"
JAVA_OPTS="-Djavax.net.ssl.trustStore=$AZ_TRUSTSTORE -Djavax.net.ssl.trustStorePassword=changeit" \
  "$ROOT/bin/pgsidecar" agent --config "$WORK/agent.yaml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
chmod 777 "$SOCK"
pg_psql ours "alter system set archive_command = 'PGSIDECAR_SOCKET=$SOCK $ROOT/bin/wal-archiver push %p'"
pg_psql ours "select pg_reload_conf()" >/dev/null
( peak=0; while kill -0 $AGENT_PID 2>/dev/null; do r=$(rss_kb $AGENT_PID); [ "$r" -gt "$peak" ] && peak=$r && echo $peak >"$WORK/agent.rss"; sleep 0.5; done ) &
RSSMON=$!
run_load ours pgsidecar
kill $RSSMON 2>/dev/null || true

# archive_command wall time, warm (look-ahead already stored it) and cold
cd "$PGDATA_ours"
warm=()
for f in $(ls pg_wal/archive_status | grep -E '^[0-9A-F]{24}\.done$' | sed 's/\.done$//' | tail -30); do
  s=$(date +%s%N); PGSIDECAR_SOCKET=$SOCK "$ROOT/bin/wal-archiver" push "pg_wal/$f" >/dev/null 2>&1 || true; e=$(date +%s%N)
  warm+=($(( (e - s) / 1000000 )))
done
cd - >/dev/null
python3 - "${warm[@]}" <<'PY'
import sys, statistics
v = sorted(int(x) for x in sys.argv[1:])
if v:
    p99 = v[min(len(v) - 1, int(len(v) * 0.99))]
    print(f"archive_command wall time, segment already stored: p50 {statistics.median(v):.0f} ms  p99 {p99} ms  (n={len(v)})")
PY
echo "agent peak RSS: $(( $(cat "$WORK/agent.rss" 2>/dev/null || echo 0) / 1024 )) MiB"
read -r ours_rate ours_peak </tmp/walbench.pgsidecar
read -r peer_rate peer_peak </tmp/walbench.pgbackrest
python3 -c "print(f'ratio archived MB/s pgsidecar/pgbackrest = {$ours_rate/$peer_rate:.2f}  (target >= 1.0); peak backlog {$ours_peak} vs {$peer_peak} (target <= 16)')"
