#!/usr/bin/env bash
# Base backup benchmark: pgsidecar (pg_basebackup tar stream | SHA-256 | zstd | parallel block
# upload, through the agent with archive_command = wal-archiver push) against
# `pgbackrest backup --type=full` (process-max=2, zst level 3, archive-push), one PostgreSQL
# cluster, one Azurite over HTTPS, rounds interleaved (ours, theirs, ours, theirs). Also the
# agent's peak RSS and heap after GC at other scales (is the heap flat as the database grows?).
# Run by hand as root (not in the tests):
#   bench/backup.sh                          # -s 100, 2 rounds each; memory at -s 50 and -s 200
#   SCALE=20 MEM_SCALES= ROUNDS=1 bench/backup.sh   # quick check
#   WORKERS=0 BLOCK_SIZE=16MiB CONCURRENCY=4 bench/backup.sh   # our knobs (defaults below)
#   AGENT_JAVA_OPTS='-XX:StartFlightRecording=filename=/tmp/b.jfr -XX:NativeMemoryTracking=summary' \
#     KEEP_WORK=1 bench/backup.sh            # profile (jfr view hot-methods), native memory per backup
# Needs: PostgreSQL 15 binaries, pgbackrest, node + Azurite (.cache/azurite), JDK 21+, curl.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

SCALE=${SCALE:-100}
ROUNDS=${ROUNDS:-2}
MEM_SCALES=${MEM_SCALES-50 200}
LEVEL=${LEVEL:-3}
WORKERS=${WORKERS:-2}          # backup.compression-workers: zstd workers of the backup stream
WAL_WORKERS=${WAL_WORKERS:-0}  # compression.workers: WAL segments (the default)
# The agent's JVM as a small pod would size it: a 128 MiB heap (-XX:MaxRAM=512m: a quarter of
# it) and SerialGC (G1's own structures took 39 MiB here; the JVM picks Serial by itself on
# fewer than 2 CPUs or under 1792 MiB), and glibc limited to 2 malloc arenas (zstd workers and
# the TLS engine malloc outside the heap). Without these, on a 24 GiB machine, G1 starts with a
# 384 MiB heap and the agent's RSS reached 304-346 MiB.
AGENT_JAVA_OPTS=${AGENT_JAVA_OPTS--XX:MaxRAM=512m -XX:+UseSerialGC}
AGENT_MALLOC_ARENA_MAX=${AGENT_MALLOC_ARENA_MAX-2}  # the agent's only, not the peers'

# storage.azure.block-size: a backup stream compresses ~20x, so 4 MiB blocks keep the upload
# well ahead of zstd while holding half the heap of 8 MiB ones (concurrency + 1 blocks in flight)
BLOCK_SIZE=${BLOCK_SIZE:-4MiB}
CONCURRENCY=${CONCURRENCY:-4}

echo "== build"
[ -n "${BENCH_NO_BUILD:-}" ] || ./mvnw -B -q -pl bench,wal-archiver -am package -DskipTests 2>&1 | grep -v '^WARNING' || true
# BackupAgent lives in the bench module (io.pgsidecar.bench), compiled by every build
CP="bench/target/classes:bench/target/lib/*"
[ -f bench/target/classes/io/pgsidecar/bench/BackupAgent.class ] || { echo "bench build failed" >&2; exit 1; }

bench_init

start_azurite_https
az_create_container pgbr
az_create_container pgsidecar
echo "== Azurite (https) on port $AZ_PORT"

pg_start db <<CONF
archive_mode = on
archive_command = '/bin/true'
wal_level = replica
max_wal_size = 4GB
checkpoint_timeout = 30min
shared_buffers = 256MB
CONF
echo "== PostgreSQL on port $PGPORT_db"
pgbackrest_conf bench db pgbr
pgbr --stanza=bench stanza-create >/dev/null

SOCK="$WORK/agent.sock"
printf '%s' "$AZ_KEY" >"$WORK/az.key"
cat >"$WORK/agent.yaml" <<YAML
cluster: bench
pgdata: $PGDATA_db
socket: $SOCK
http:
  admin-socket: $WORK/admin.sock   # backups, dumps, status: the CLI's socket
postgres:
  host: 127.0.0.1
  port: $PGPORT_db
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
    block-size: $BLOCK_SIZE
    concurrency: $CONCURRENCY
compression:
  algorithm: zstd
  level: $LEVEL
  workers: $WAL_WORKERS
backup:
  progress-interval: 10s
  compression-workers: $WORKERS
metrics:
  port: 0
wal:
  spool-dir: $WORK/spool
YAML
GC_LOG="$WORK/gc.log"
# shellcheck disable=SC2086 # AGENT_JAVA_OPTS is a list of flags
MALLOC_ARENA_MAX=$AGENT_MALLOC_ARENA_MAX "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xlog:gc:file="$GC_LOG":uptime \
  -Djavax.net.ssl.trustStore="$AZ_TRUSTSTORE" -Djavax.net.ssl.trustStorePassword=changeit \
  ${AGENT_JAVA_OPTS:-} -cp "$CP" io.pgsidecar.bench.BackupAgent "$WORK/agent.yaml" \
  >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
# the agent sets the socket's mode (0660) after binding: open it to postgres only after that
for _ in $(seq 600); do grep -q 'bench agent started' "$WORK/agent.log" && break; sleep 0.1; done
grep -q 'bench agent started' "$WORK/agent.log" || { cat "$WORK/agent.log"; echo "agent did not start" >&2; exit 1; }
chmod 777 "$SOCK"
echo "== agent pid $AGENT_PID: zstd $LEVEL, backup workers $WORKERS, WAL workers $WAL_WORKERS, block $BLOCK_SIZE x $CONCURRENCY, JVM ${AGENT_JAVA_OPTS:-defaults}, MALLOC_ARENA_MAX=${AGENT_MALLOC_ARENA_MAX:-unset}"

archive_with() { # ours|theirs|none
  local cmd
  case $1 in
    ours) cmd="PGSIDECAR_SOCKET=$SOCK $ROOT/bin/wal-archiver push %p" ;;
    theirs) cmd="pgbackrest --config=$PGBACKREST_CONF --stanza=bench archive-push %p" ;;
    none) cmd="/bin/true" ;;
  esac
  pg_psql db "alter system set archive_command = '$cmd'"
  pg_psql db "select pg_reload_conf()" >/dev/null
  sleep 1
}

load() { # scale
  archive_with none
  runuser -u postgres -- "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PGPORT_db" -U postgres -i -q \
    -s "$1" postgres >/dev/null 2>&1
  pg_psql db "checkpoint"
  DB_BYTES=$(pg_psql db "select pg_database_size('postgres')")
  echo "== pgbench -s $1: database $(pg_psql db "select pg_size_pretty(pg_database_size('postgres'))")"
}

rss_peak() { # pid outfile: peak RSS (kB) while $WORK/sampling exists
  local peak=0 r
  while [ -e "$WORK/sampling" ]; do
    r=$(rss_kb "$1"); r=${r:-0}
    if [ "$r" -gt "$peak" ]; then peak=$r; echo "$peak" >"$2"; fi
    sleep 0.2
  done
}

# Largest heap occupancy after a collection in GC log lines after line $1 ("...->12M(64M)").
heap_after_gc_mb() {
  tail -n +"$(( $1 + 1 ))" "$GC_LOG" | sed -n 's/.*->\([0-9]*\)M([0-9]*M).*/\1/p' | sort -n | tail -1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user+system, in clock ticks

RESULTS="$WORK/results"
: >"$RESULTS"

ours() { # scale round
  archive_with ours
  local before after t0 t1 code gc0 sampler
  before=$(az_prefix_bytes pgsidecar bench/base/)
  gc0=$(wc -l <"$GC_LOG")
  echo 0 >"$WORK/rss"
  touch "$WORK/sampling"
  rss_peak "$AGENT_PID" "$WORK/rss" & sampler=$!
  local c0; c0=$(cpu_ticks "$AGENT_PID")
  t0=$(now_ms)
  code=$(curl -s -o "$WORK/ours.json" -w '%{http_code}' --max-time 3600 --unix-socket "$WORK/admin.sock" \
    -X POST -H 'Content-Type: application/json' -d '{"label":"bench"}' \
    'http://agent/v1/backups?wait=true')
  t1=$(now_ms)
  local c1; c1=$(cpu_ticks "$AGENT_PID")
  rm -f "$WORK/sampling"; wait "$sampler" || true
  [ "$code" = 200 ] || { cat "$WORK/ours.json"; tail -30 "$WORK/agent.log"; echo "our backup failed ($code)" >&2; exit 1; }
  after=$(az_prefix_bytes pgsidecar bench/base/)
  local during; during=$(heap_after_gc_mb "$gc0"); during=${during:-none}
  # native memory by category, when the agent runs with -XX:NativeMemoryTracking=summary
  "$JAVA_HOME/bin/jcmd" "$AGENT_PID" VM.native_memory summary >"$WORK/nmt-$1-$2.txt" 2>&1 || true
  local gc1; gc1=$(wc -l <"$GC_LOG")
  "$JAVA_HOME/bin/jcmd" "$AGENT_PID" GC.run >/dev/null
  sleep 0.5
  local live; live=$(heap_after_gc_mb "$gc1")
  local raw; raw=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rawSize'])" "$WORK/ours.json")
  echo "ours $1 $2 $(( t1 - t0 )) $(( after - before )) $raw $(( $(cat "$WORK/rss") / 1024 )) $during $live $(( (c1 - c0) * 100 / $(getconf CLK_TCK) ))" | tee -a "$RESULTS"
  bench_record tool=pgsidecar scale="$1" round="$2" wall_ms=$(( t1 - t0 )) stored_bytes=$(( after - before )) raw_bytes="$raw" db_bytes="$DB_BYTES" rss_peak_mib=$(( $(cat "$WORK/rss") / 1024 )) heap_during_mib="$during" heap_live_mib="$live" cpu_ms=$(( (c1 - c0) * 1000 / $(getconf CLK_TCK) )) concurrency="$CONCURRENCY" workers="$WORKERS" block_size="$BLOCK_SIZE"
}

theirs() { # scale round
  archive_with theirs
  local before after t0 t1
  before=$(az_prefix_bytes pgbr pgbackrest/backup/)
  local k0 k1; children_cpu_ms k0
  t0=$(now_ms)
  pgbr --stanza=bench --repo1-retention-full=100 backup --type=full
  t1=$(now_ms)
  children_cpu_ms k1
  after=$(az_prefix_bytes pgbr pgbackrest/backup/)
  echo "theirs $1 $2 $(( t1 - t0 )) $(( after - before ))" | tee -a "$RESULTS"
  bench_record tool=pgbackrest scale="$1" round="$2" wall_ms=$(( t1 - t0 )) stored_bytes=$(( after - before )) db_bytes="$DB_BYTES" cpu_ms=$(( k1 - k0 )) process_max="${PGBR_PROCESS_MAX:-2}"
}

echo "columns: tool scale round wall_ms stored_bytes [raw_bytes rss_peak_MiB heap_after_gc_during_MiB heap_live_after_MiB agent_cpu_centiseconds]"
for s in $MEM_SCALES; do
  [ "$s" -lt "$SCALE" ] || continue
  load "$s"; ours "$s" 1
done
if [ "$ROUNDS" -gt 0 ]; then
  load "$SCALE"
  for r in $(seq "$ROUNDS"); do ours "$SCALE" "$r"; theirs "$SCALE" "$r"; done
fi
for s in $MEM_SCALES; do
  [ "$s" -gt "$SCALE" ] || continue
  load "$s"; ours "$s" 1
done

python3 - "$RESULTS" "$SCALE" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
scale = sys.argv[2]
o = [r for r in rows if r[0] == "ours" and r[1] == scale]
t = [r for r in rows if r[0] == "theirs" and r[1] == scale]
if o and t:
    ow = [int(r[3]) / 1000 for r in o]; tw = [int(r[3]) / 1000 for r in t]
    ratios = [a / b for a, b in zip(ow, tw)]
    print(f"pgbench -s {scale}: pgsidecar {', '.join(f'{x:.1f}' for x in ow)} s; "
          f"pgbackrest {', '.join(f'{x:.1f}' for x in tw)} s; per-round ratio "
          f"{', '.join(f'{x:.2f}' for x in ratios)}; median ratio {statistics.median(ratios):.2f} (target <= 1.0)")
    osz, tsz = int(o[-1][4]), int(t[-1][4])
    print(f"stored: pgsidecar {osz/1e6:.1f} MB, pgbackrest {tsz/1e6:.1f} MB, ratio {osz/tsz:.3f} (target 0.9..1.1)")
for r in rows:
    if r[0] == "ours":
        print(f"memory at -s {r[1]} round {r[2]}: raw {int(r[5])/1e6:.0f} MB, agent peak RSS {r[6]} MiB,"
              f" heap after GC during backup max {r[7]} MiB, live heap after backup {r[8]} MiB,"
              f" agent CPU {int(r[9])/100:.1f} s")
PY
