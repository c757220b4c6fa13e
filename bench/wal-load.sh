#!/usr/bin/env bash
# WAL made under full write load: archiving off, on with pgsidecar (agent + bin/wal-archiver push
# as archive_command), on with pgBackRest (archive-async=y, process-max=2, zst level 3), on one
# cluster per wal_segment_size (16 and 64 MB, initdb --wal-segsize), against the same Azurite
# (HTTPS), in interleaved rounds.
#   bench/wal-load.sh [seconds=30] [rounds=2] [segment sizes in MB="16 64"]
#   WAL_LOAD_MODES="off pgsidecar pgbackrest" (a mode pgsidecar-lN runs the agent with
#   wal.compression-level N; plain pgsidecar uses the agent's default), KEEP_WORK=1,
#   WAL_LOAD_JFR=0 (no flight recording of the agent; default: one per pgsidecar round, in $WORK),
#   WAL_LOAD_REPO=fs (both tools write to a repository on the local disk, pgsidecar `storage.type:
#   fs`, pgBackRest `repo1-type=posix`, instead of Azurite: what archiving itself costs the
#   machine, without the storage server's CPU on the same cores)
# Prints per segment size and mode: WAL MB/s (LSN difference / pgbench's wall), its ratio to
# archiving off, the peak .ready backlog, and per tool the bytes stored per archived segment.
# Targets (issue 18, 4 and 3): pgsidecar >= 0.90x archiving off, peak .ready <= 8; stored bytes
# per segment <= pgBackRest's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECONDS_RUN=${1:-30}
ROUNDS=${2:-2}
SEGS=${3:-16 64}
MODES=${WAL_LOAD_MODES:-off pgsidecar pgbackrest}
SCALE=10

REPO=${WAL_LOAD_REPO:-azure}
case $REPO in azure|fs) ;; *) echo "WAL_LOAD_REPO must be azure or fs, not $REPO" >&2; exit 2 ;; esac
[ "$REPO" = fs ] && export PGBR_REPO=posix

bench_init
bulk_sql
start_azurite_https # for fs too: the scripts' helpers expect it; it stays idle
"$ROOT/bin/wal-archiver" prepare-cache >"$WORK/prepare-cache.log" 2>&1 || cat "$WORK/prepare-cache.log" >&2
"$ROOT/bin/pgsidecar" prepare-cache >>"$WORK/prepare-cache.log" 2>&1 || cat "$WORK/prepare-cache.log" >&2
printf '%s' "$AZ_KEY" >"$WORK/az.key"
RESULTS="$WORK/results"
: >"$RESULTS"

conf() { # archive_mode
  cat <<CONF
archive_mode = $1
wal_level = replica
max_wal_size = 4GB
checkpoint_timeout = 30min
synchronous_commit = off
shared_buffers = 256MB
CONF
}

restart_with() { # name archive_mode archive_command
  local v="PGDATA_$1"
  pg_psql "$1" "alter system set archive_mode = '$2'" >/dev/null
  pg_psql "$1" "alter system set archive_command = '${3//\'/\'\'}'" >/dev/null
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "${!v}" -l "$WORK/$1/server.log" -w -m fast restart >/dev/null
}

storage_yaml() { # container
  if [ "$REPO" = fs ]; then
    mkdir -p "$WORK/repo-$1"
    printf 'storage:\n  type: fs\n  path: %s\n' "$WORK/repo-$1"
  else
    printf 'storage:\n  type: azure\n  azure:\n    auth: shared-key\n    endpoint: %s\n    account: %s\n    key-file: %s\n    container: %s\n' \
      "$(az_endpoint)" "$AZ_ACCOUNT" "$WORK/az.key" "$1"
  fi
}

stored_bytes() { # container
  if [ "$REPO" = fs ]; then
    find "$WORK/repo-$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'
  else
    az_prefix_bytes "$1"
  fi
}

AGENT_PID=
start_agent() { # name container level(or empty) jfr-file
  local v="PGDATA_$1" sock="$WORK/agent.sock"
  rm -f "$sock" "$WORK/admin.sock"
  cat >"$WORK/agent.yaml" <<YAML
cluster: bench
pgdata: ${!v}
socket: $sock
http:
  admin-socket: $WORK/admin.sock
$(storage_yaml "$2")
metrics:
  port: 0
wal:
  spool-dir: $WORK/spool
YAML
  [ -n "$3" ] && echo "  compression-level: $3" >>"$WORK/agent.yaml"
  local jfr=
  [ "${WAL_LOAD_JFR:-1}" = 1 ] && jfr="-XX:StartFlightRecording=filename=$4,settings=default"
  PGSIDECAR_JAVA_OPTS="-Djavax.net.ssl.trustStore=$AZ_TRUSTSTORE -Djavax.net.ssl.trustStorePassword=changeit $jfr ${AGENT_JAVA_OPTS:-}" \
    "$ROOT/bin/pgsidecar" agent --config "$WORK/agent.yaml" >>"$WORK/agent.log" 2>&1 &
  AGENT_PID=$!
  PIDS+=($AGENT_PID)
  for _ in $(seq 600); do grep -q "agent started" "$WORK/agent.log" && break; sleep 0.1; done
  grep -q "agent started" "$WORK/agent.log" || { echo "the agent did not start:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
  chmod 666 "$sock" # the agent runs as root here, PostgreSQL as postgres
  : >"$WORK/agent.log"
}

stop_agent() {
  [ -n "$AGENT_PID" ] || return 0
  kill "$AGENT_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
  AGENT_PID=
}

round() { # seg mode r
  local seg=$1 mode=$2 r=$3 name="c$1" level=
  local v="PGDATA_c$seg" p="PGPORT_c$seg"
  local pgdata=${!v} port=${!p}
  case $mode in
    off) restart_with "$name" off '' ;;
    pgbackrest)
      restart_with "$name" on "pgbackrest --config=$WORK/pgbackrest.$seg.conf --stanza=bench archive-push %p" ;;
    pgsidecar*)
      case $mode in pgsidecar-l*) level=${mode#pgsidecar-l} ;; esac
      start_agent "$name" "ours$seg${level:+l$level}" "$level" "$WORK/agent.$seg.$mode.$r.jfr"
      restart_with "$name" on "PGSIDECAR_SOCKET=$WORK/agent.sock $ROOT/bin/wal-archiver push %p" ;;
  esac
  # every round starts alike: an empty table, a checkpoint, nothing waiting
  pg_psql "$name" "truncate walbench" >/dev/null
  pg_psql "$name" "checkpoint" >/dev/null
  local a0 l0 t0 t1 l1 a1 peakf="$WORK/peak.$seg.$mode.$r" load
  echo 0 >"$peakf"
  a0=$(pg_psql "$name" "select archived_count from pg_stat_archiver")
  l0=$(pg_psql "$name" "select pg_current_wal_lsn() - '0/0'")
  sample_backlog "$pgdata" "$peakf" &
  local sampler=$!
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(now_ms)
  bulk_load "$port" "$SECONDS_RUN" "$WORK/pgbench.$seg.$mode.$r"
  t1=$(now_ms)
  l1=$(pg_psql "$name" "select pg_current_wal_lsn() - '0/0'")
  if [ "$mode" != off ]; then
    pg_psql "$name" "select pg_switch_wal()" >/dev/null
    wait_drained "$pgdata" 2400 || echo "WARN: $mode seg $seg round $r: .ready left after 10 min" >&2
  fi
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  a1=$(pg_psql "$name" "select archived_count from pg_stat_archiver")
  local failed
  failed=$(pg_psql "$name" "select failed_count from pg_stat_archiver")
  [ "${mode%%-*}" = pgsidecar ] && stop_agent
  # seg mode round MB/s peak segments_archived failed load
  python3 -c "print($seg, '$mode', $r, round(($l1 - $l0) / 1e6 / (($t1 - $t0) / 1000), 2), $(cat "$peakf"), $a1 - $a0, $failed, $load)" | tee -a "$RESULTS"
}

echo "repository: $REPO"
echo "seg mode round WAL_MB/s peak_ready segments archive_failures load1"
for seg in $SEGS; do
  name="c$seg"
  INITDB_OPTS="--wal-segsize=$seg" pg_start "$name" < <(conf off)
  runuser -u postgres -- "$PG_BIN/pgbench" -h 127.0.0.1 -p "$(v=PGPORT_$name; echo "${!v}")" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
  pg_psql "$name" "create table walbench (id int, payload text)" >/dev/null
  for m in $MODES; do
    case $m in
      pgbackrest) [ "$REPO" = azure ] && az_create_container "pgbr$seg"
        # the async spool holds one status file per segment name, and both clusters name their
        # segments from 000000010000000000000001: the previous cluster's must not answer for this one
        rm -rf "$WORK/pgbackrest/spool"
        pgbackrest_conf bench "$name" "pgbr$seg"
        install -o postgres -m 600 "$PGBACKREST_CONF" "$WORK/pgbackrest.$seg.conf"
        PGBACKREST_CONF="$WORK/pgbackrest.$seg.conf"
        restart_with "$name" on "pgbackrest --config=$PGBACKREST_CONF --stanza=bench archive-push %p"
        pgbr --stanza=bench stanza-create >/dev/null ;;
      pgsidecar*) l=; case $m in pgsidecar-l*) l=${m#pgsidecar-l} ;; esac
        [ "$REPO" = azure ] && az_create_container "ours$seg${l:+l$l}"
        true ;;
    esac
  done
  for r in $(seq "$ROUNDS"); do
    # interleaved, and the order rotates each round so no mode always follows the same one
    set -- $MODES
    for _ in $(seq $(( (r - 1) % $# ))); do set -- "${@:2}" "$1"; done
    for m in "$@"; do round "$seg" "$m" "$r"; done
  done
  # stored bytes per archived segment, per tool
  for m in $MODES; do
    c=
    case $m in pgbackrest) c="pgbr$seg" ;; pgsidecar*) l=; case $m in pgsidecar-l*) l=${m#pgsidecar-l} ;; esac; c="ours$seg${l:+l$l}" ;; esac
    [ -n "$c" ] && echo "stored $seg $m $(stored_bytes "$c")" >>"$RESULTS"
  done
  v="PGDATA_$name"; runuser -u postgres -- "$PG_BIN/pg_ctl" -D "${!v}" -m fast stop >/dev/null
done

python3 - "$RESULTS" <<'PY'
import collections, statistics, sys
rows, stored = [], {}
for l in open(sys.argv[1]):
    f = l.split()
    if f[0] == "stored":
        stored[(int(f[1]), f[2])] = int(f[3])
    else:
        rows.append((int(f[0]), f[1], int(f[2]), float(f[3]), int(f[4]), int(f[5]), int(f[6]), float(f[7])))
print()
print("| segment | mode | WAL MB/s (rounds) | median | x archiving off | peak .ready | stored per segment | x pgBackRest's | load avg |")
print("|---|---|---|---|---|---|---|---|---|")
for seg in sorted({r[0] for r in rows}):
    by = collections.defaultdict(list)
    for r in rows:
        if r[0] == seg: by[r[1]].append(r)
    med = {m: statistics.median(x[3] for x in v) for m, v in by.items()}
    segs = {m: sum(x[5] for x in v) for m, v in by.items()}
    per = {m: stored[(seg, m)] / segs[m] for m in by if (seg, m) in stored and segs[m]}
    for m, v in by.items():
        off = f"{med[m] / med['off']:.2f}" if "off" in med else ""
        ps = f"{per[m] / 1e6:.2f} MB of {seg} ({segs[m]} segs)" if m in per else ""
        pr = f"{per[m] / per['pgbackrest']:.2f}" if m in per and "pgbackrest" in per else ""
        print(f"| {seg} MB | {m} | {' '.join(f'{x[3]:.1f}' for x in v)} | {med[m]:.1f} | {off} | "
              f"{max(x[4] for x in v)} | {ps} | {pr} | {' '.join(f'{x[7]:.1f}' for x in v)} |")
    fails = max(x[6] for x in rows if x[0] == seg)  # the server's cumulative count
    if fails: print(f"(segment {seg} MB: archive failures counted by the server: {fails})")
PY
