#!/usr/bin/env bash
# Curves, not points (issue 18, target 5): base backup, restore and WAL archiving against
# pgBackRest at several database sizes and upload streams, one JSON line per measurement
# appended to bench/results/<UTC date>.jsonl; then `bench/report` turns the results into
# bench/results/README.md and charts.
#   bench/curves.sh                                  # scales 25 100 400, streams 1 2 4
#   SCALES="25 100" STREAMS="1 4" bench/curves.sh    # shorter
#   BENCHES="backup" GRID=full bench/curves.sh       # only backups, every scale x every streams
# Run as root under the bench lock (flock /work/wt/bench.lock bench/curves.sh).
#
# Points: by default a cross, not the full grid: every scale at SIZE_STREAMS streams (the size
# curves), and STREAM_SCALE (the first scale) at every streams value (the streams curves);
# GRID=full runs every pair. "Streams" is each tool's own knob for parallel transfers:
#   pgsidecar  storage.azure.concurrency (blocks uploaded / ranges read in parallel) for backup
#              and restore, wal.lookahead-concurrency (segments uploaded ahead) for WAL
#   pgBackRest process-max (its parallel processes: compress + transfer) for all three
# Knobs: WAL_MB (restore.sh's WAL after the backups, 256), WAL_SECONDS (wal-archive.sh's load,
# 30), WAL_BENCH_DRAIN_SECONDS (10), ROUNDS (backup rounds per point, 1), BENCH_RESULTS (file),
# STOP_AT=HH:MM (UTC: start no new point from then on, to keep within a lock's hold).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
find_jdk >/dev/null
SCALES=${SCALES:-25 100 400}
STREAMS=${STREAMS:-1 2 4}
BENCHES=${BENCHES:-backup restore wal}
SIZE_STREAMS=${SIZE_STREAMS:-2}
STREAM_SCALE=${STREAM_SCALE:-${SCALES%% *}}
GRID=${GRID:-cross}
WAL_MB=${WAL_MB:-256}
WAL_SECONDS=${WAL_SECONDS:-30}
export WAL_BENCH_DRAIN_SECONDS=${WAL_BENCH_DRAIN_SECONDS:-10}
mkdir -p bench/results
export BENCH_RESULTS=${BENCH_RESULTS:-$PWD/bench/results/$(date -u +%F).jsonl}
export BENCH_RUN=${BENCH_RUN:-$(date -u +%FT%H%MZ)}
LOG_DIR=${LOG_DIR:-/tmp/pgsidecar-curves.$BENCH_RUN}
mkdir -p "$LOG_DIR"

points() { # "scale streams" per line
  local s n
  if [ "$GRID" = full ]; then
    for s in $SCALES; do for n in $STREAMS; do echo "$s $n"; done; done
  else
    for s in $SCALES; do echo "$s $SIZE_STREAMS"; done
    for n in $STREAMS; do [ "$n" = "$SIZE_STREAMS" ] || echo "$STREAM_SCALE $n"; done
  fi
}

free_gb() { df -BG --output=avail /tmp | tail -1 | tr -dc 0-9; }
echo "== curves run $BENCH_RUN: benches [$BENCHES], points (scale streams): $(points | paste -sd, -)"
echo "== results to $BENCH_RESULTS, logs in $LOG_DIR; $(free_gb) GB free in /tmp, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== build"
./mvnw -B -q -DskipTests package 2>&1 | grep -v '^WARNING' || true

run() { # bench scale streams: one script run, its output to a log, its figures to BENCH_RESULTS
  local bench=$1 scale=$2 n=$3 log rc=0
  log="$LOG_DIR/$bench-s$scale-n$n.log"
  # a database of pgbench scale s takes ~15 MB per unit; restore needs it twice plus the WAL
  if [ "$(free_gb)" -lt $(( scale * 15 * 3 / 1024 + 2 )) ]; then
    echo "   skip $bench -s $scale: $(free_gb) GB free in /tmp" | tee -a "$log"; return 0
  fi
  if [ -n "${STOP_AT:-}" ] && [[ "$(date -u +%H:%M)" > "$STOP_AT" || "$(date -u +%H:%M)" == "$STOP_AT" ]]; then
    echo "   skip $bench -s $scale streams $n: past STOP_AT $STOP_AT UTC" | tee -a "$log"; return 0
  fi
  printf '[%s] %-7s -s %-4s streams %s ... ' "$(date -u +%T)" "$bench" "$scale" "$n"
  export BENCH_STREAMS=$n PGBR_PROCESS_MAX=$n
  case $bench in
    backup) env SCALE="$scale" MEM_SCALES= ROUNDS="${ROUNDS:-1}" CONCURRENCY="$n" BENCH_NO_BUILD=1 \
              bench/backup.sh >"$log" 2>&1 || rc=$? ;;
    restore) env PGSIDECAR_STORAGE_AZURE_CONCURRENCY="$n" bench/restore.sh "$scale" "$WAL_MB" >"$log" 2>&1 || rc=$? ;;
    wal) env PGSIDECAR_WAL_LOOKAHEAD_CONCURRENCY="$n" bench/wal-archive.sh "$WAL_SECONDS" "$scale" >"$log" 2>&1 || rc=$? ;;
  esac
  if [ "$rc" = 0 ]; then echo "done"; else echo "FAILED ($rc), see $log"; tail -5 "$log" | sed 's/^/     /'; fi
}

# point by point, every bench at each (smaller scales first, the largest last): a STOP_AT that
# cuts the run leaves whole curves over the smaller sizes
while read -r s n; do
  for bench in $BENCHES; do run "$bench" "$s" "$n"; done
done < <(points | sort -n -k1,1 -s)
echo "== $(wc -l <"$BENCH_RESULTS") result lines in $BENCH_RESULTS; report: bench/report $BENCH_RESULTS"
