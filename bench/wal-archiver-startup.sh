#!/usr/bin/env bash
# Start-up cost of `wal-archiver push` against a fake agent (a python responder on a unix
# socket answering 200 at once): median wall time over N runs per variant, variants
# interleaved so that load from other processes hits them alike.
#   bench/wal-archiver-startup.sh [RUNS]     (default 30; build the jar first)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
find_jdk
RUNS=${1:-30}
JAR=$(ls wal-archiver/target/wal-archiver-*.jar | head -1)
J=$JAVA_HOME/bin/java
work=$(mktemp -d)
agent_pid=
cleanup() { [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

export PGSIDECAR_SOCKET=$work/agent.sock
python3 - "$PGSIDECAR_SOCKET" <<'PY' &
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        n = 0
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                n = int(line.split(b":")[1])
        self.rfile.read(n)
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
socketserver.UnixStreamServer(sys.argv[1], H).serve_forever()
PY
agent_pid=$!
for _ in $(seq 50); do [ -S "$PGSIDECAR_SOCKET" ] && break; sleep 0.1; done

FAST=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData)
"$J" "${FAST[@]}" -XX:AOTCacheOutput="$work/w.aot" -cp "$JAR" io.pgsidecar.walarchiver.Training >/dev/null 2>&1 || true
"$J" "${FAST[@]}" -XX:ArchiveClassesAtExit="$work/w.jsa" -cp "$JAR" io.pgsidecar.walarchiver.Training >/dev/null 2>&1 || true
bin/wal-archiver prepare-cache >/dev/null 2>&1 || true

MAIN=io.pgsidecar.walarchiver.WalArchiver
SEG=pg_wal/000000010000000000000003
declare -A CMD=(
  [1-default]="$J -cp $JAR $MAIN push $SEG"
  [2-c1-serial]="$J ${FAST[*]} -cp $JAR $MAIN push $SEG"
  [3-c1-serial-dyncds]="$J ${FAST[*]} -XX:SharedArchiveFile=$work/w.jsa -cp $JAR $MAIN push $SEG"
  [4-c1-serial-aotcache]="$J ${FAST[*]} -XX:AOTCache=$work/w.aot -cp $JAR $MAIN push $SEG"
  [5-bin/wal-archiver]="bin/wal-archiver push $SEG"
  [6-curl]="curl -s --unix-socket $PGSIDECAR_SOCKET -o /dev/null -d {} http://x/v1/wal/push"
)
[ -n "${EXTRA:-}" ] && CMD[7-extra]="$J ${FAST[*]} $EXTRA -cp $JAR $MAIN push $SEG"
declare -A T C
for _ in $(seq "$RUNS"); do
  for k in "${!CMD[@]}"; do
    s=$(date +%s%N)
    /usr/bin/time -f '%U %S' -o "$work/cpu" ${CMD[$k]} >/dev/null || { echo "$k failed" >&2; exit 1; }
    e=$(date +%s%N)
    T[$k]+="$(( (e - s) / 1000 )) "
    read -r u sy < "$work/cpu"
    C[$k]+="$(awk -v u="$u" -v s="$sy" 'BEGIN {print (u + s) * 1000000}') "
  done
done
echo "wal-archiver push start-up, $RUNS runs each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $($J -version 2>&1 | head -1)"
echo "wall: median p10 p90 of the elapsed time; cpu: median user+sys (10 ms resolution)"
printf '%-24s %8s %8s %8s %8s\n' variant "wall" "p10" "p90" "cpu"
for k in $(printf '%s\n' "${!CMD[@]}" | sort); do
  cpu=$(printf '%s\n' ${C[$k]} | sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]/1000}')
  printf '%s\n' ${T[$k]} | sort -n | awk -v k="$k" -v cpu="$cpu" '{a[NR]=$1} END {
    printf "%-24s %6.1fms %6.1fms %6.1fms %6sms\n", k, a[int((NR+1)/2)]/1000, a[int(NR*0.1)+1]/1000, a[int(NR*0.9)]/1000, cpu }'
done
