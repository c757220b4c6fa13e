#!/usr/bin/env bash
# Sustained WAL archiving, side by side: pgBackRest archive-push (archive-async=y, process-max=2,
# zst level 3) and pgsidecar (wal-archiver -> agent), each on a fresh cluster, against the same
# Azurite (HTTPS), while pgbench writes as fast as it can.
#   bench/wal-archive.sh [seconds=60] [scale=10]     (WAL_BENCH_LOAD=bulk|tpcb, KEEP_WORK=1)
# Prints WAL generated and archived MB/s, drain time, peak .ready backlog, agent RSS,
# archive_command wall times (warm = already stored by look-ahead; joined = the look-ahead was
# still uploading it and the call waited), and the ratios.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECONDS_RUN=${1:-60}
SCALE=${2:-10}
SEG=$((16 * 1024 * 1024))
# bulk (default): pgbench runs 2 clients of 20000-row INSERTs, ~3 MB of WAL per transaction, as
# fast as the server can: archiving, not pgbench's commit rate, is what limits it. tpcb: pgbench's
# simple-update transactions (-N), which on a busy 2-core machine write only ~1 MB/s of WAL.
LOAD=${WAL_BENCH_LOAD:-bulk}
DRAIN_LOAD=${WAL_BENCH_DRAIN_SECONDS:-20} # seconds of WAL written with archiving off, then drained

bench_init
bulk_sql
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

run_load() { # name label -> prints a result line, sets RESULT_<label>
  local name=$1 label=$2 pgdata_var="PGDATA_$1" port_var="PGPORT_$1"
  local pgdata=${!pgdata_var} port=${!port_var}
  runuser -u postgres -- "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s "$SCALE" -q postgres >/dev/null 2>&1
  pg_psql "$name" "create table walbench (id int, payload text)" >/dev/null
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
  if [ "$LOAD" = tpcb ]; then
    runuser -u postgres -- "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c 4 -j 2 -T "$SECONDS_RUN" -N postgres >"$WORK/$label.pgbench" 2>&1
  else
    bulk_load "$port" "$SECONDS_RUN" "$WORK/$label.pgbench"
  fi
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
  drain_capacity "$name" "$label" "$pgdata" "$port"
  pg_psql "$name" "select archived_count from pg_stat_archiver" >"$WORK/$label.archived"
}

# Archiving capacity without pgbench competing for the CPU: archive_command = false while
# pgbench writes DRAIN_LOAD seconds, then the real command again; MB/s of the backlog's drain.
drain_capacity() { # name label pgdata port
  local name=$1 label=$2 pgdata=$3 port=$4 cmd n t0 t1
  cmd=$(pg_psql "$name" "show archive_command")
  pg_psql "$name" "alter system set archive_command = 'false'" >/dev/null
  pg_psql "$name" "select pg_reload_conf()" >/dev/null
  runuser -u postgres -- "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c 2 -j 2 -T "$DRAIN_LOAD" -n -f "$WORK/bulk.sql" postgres >/dev/null 2>&1
  pg_psql "$name" "select pg_switch_wal()" >/dev/null
  sleep 1
  n=$(ready_count "$pgdata")
  pg_psql "$name" "alter system set archive_command = '$cmd'" >/dev/null
  t0=$(now_ms)
  pg_psql "$name" "select pg_reload_conf()" >/dev/null
  for _ in $(seq 2400); do [ "$(ready_count "$pgdata")" -eq 0 ] && break; sleep 0.25; done
  t1=$(now_ms)
  python3 -c "
n, t = $n, ($t1 - $t0) / 1000
print(f'{\"$label\":10s} drain of a {n}-segment backlog ({n * $SEG / 1e6:.0f} MB): {t:5.1f} s = {n * $SEG / 1e6 / t:6.1f} MB/s')
open('/tmp/walbench.$label.drain', 'w').write(f'{n * $SEG / 1e6 / t}\n')"
}

# --- pgBackRest ---------------------------------------------------------------------------
pg_start peer < <(common_conf) # not a pipe: pg_start sets PGDATA_peer in this shell
pgbackrest_conf bench peer pgbr
pg_psql peer "alter system set archive_command = 'pgbackrest --config=$PGBACKREST_CONF --stanza=bench archive-push %p'"
pg_psql peer "select pg_reload_conf()" >/dev/null
pgbr --stanza=bench stanza-create >/dev/null
run_load peer pgbackrest
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_peer" -m fast stop >/dev/null

# --- pgsidecar ----------------------------------------------------------------------------
# the AOT cache / CDS archive of wal-archiver lives beside its jar, which postgres cannot
# write: make it now, as a packaged image would at build time
"$ROOT/bin/wal-archiver" prepare-cache >"$WORK/prepare-cache.log" 2>&1 || cat "$WORK/prepare-cache.log" >&2
# the agent's too, as an image build makes it
"$ROOT/bin/pgsidecar" prepare-cache >>"$WORK/prepare-cache.log" 2>&1 || cat "$WORK/prepare-cache.log" >&2
WA_ARCHIVE=$(ls "$ROOT"/wal-archiver/target/wal-archiver.jdk*.aot "$ROOT"/wal-archiver/target/wal-archiver.jdk*.jsa 2>/dev/null | head -1 || true)
pg_start ours < <(common_conf)
SOCK="$WORK/agent.sock"
printf '%s' "$AZ_KEY" >"$WORK/az.key"
cat >"$WORK/agent.yaml" <<YAML
cluster: bench
pgdata: $PGDATA_ours
socket: $SOCK
http:
  admin-socket: $WORK/admin.sock   # backups, dumps, status: the CLI's socket
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
# extra agent settings for a comparison run, e.g. PGSIDECAR_WAL_LOOKAHEAD_CONCURRENCY=2
# a GC log (one line per collection, no measurable cost): heap after each collection, printed below
PGSIDECAR_JAVA_OPTS="-Djavax.net.ssl.trustStore=$AZ_TRUSTSTORE -Djavax.net.ssl.trustStorePassword=changeit -Xlog:gc:file=$WORK/agent-gc.log ${AGENT_JAVA_OPTS:-}" \
  "$ROOT/bin/pgsidecar" agent --config "$WORK/agent.yaml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
# "agent started" is logged after the agent has set the socket's mode (0660): chmod after that
for _ in $(seq 300); do grep -q "agent started" "$WORK/agent.log" && break; sleep 0.1; done
grep -q "agent started" "$WORK/agent.log" || { echo "the agent did not start:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
chmod 666 "$SOCK" # the agent runs as root here, PostgreSQL as postgres
# archive_command through a wrapper that records each call's wall time: bash's own clock
# ($EPOCHREALTIME), no `date` processes, so the wrapper adds one exec and nothing else
cat >"$WORK/timed-push" <<SH
#!/bin/bash
s=\${EPOCHREALTIME/./}
PGSIDECAR_SOCKET=$SOCK $ROOT/bin/wal-archiver push "\$1"
rc=\$?
e=\${EPOCHREALTIME/./}
echo "\${1##*/} \$(( (e - s) / 1000 )) \$rc" >>$WORK/push-times.log
exit \$rc
SH
chmod 755 "$WORK/timed-push"
: >"$WORK/push-times.log"; chown postgres "$WORK/push-times.log"
pg_psql ours "alter system set archive_command = '$WORK/timed-push %p'"
pg_psql ours "select pg_reload_conf()" >/dev/null
# peak RSS, sampled every 0.5 s; at each new peak also its split (anonymous: heap, JIT, malloc,
# the class-data archive's relocated pages; file: libjvm, the archive's clean pages) and when
( peak=0; t0=$(now_ms); while kill -0 $AGENT_PID 2>/dev/null; do r=$(rss_kb $AGENT_PID)
  if [ "$r" -gt "$peak" ]; then peak=$r; echo $peak >"$WORK/agent.rss"
    { echo "at $(( ($(now_ms) - t0) / 1000 )) s of the run:"; grep -E '^Rss(Anon|File)' "/proc/$AGENT_PID/status"; } \
      | tr -s ' \t' ' ' | tr '\n' ' ' >"$WORK/agent.rss.split" 2>/dev/null || true
    cp "/proc/$AGENT_PID/smaps" "$WORK/agent.peak.smaps" 2>/dev/null || true
    # with NMT: its summary at the peak too, each time the peak has grown by 4 MiB (a jcmd run)
    case "${AGENT_JAVA_OPTS:-}" in *NativeMemoryTracking*) if [ "$peak" -gt $(( ${nmtpeak:-0} + 4096 )) ]; then
      nmtpeak=$peak; "$JAVA_HOME/bin/jcmd" $AGENT_PID VM.native_memory summary >"$WORK/nmt.peak.tmp" 2>&1 \
        && { echo "at $(( ($(now_ms) - t0) / 1000 )) s, RSS $(( peak / 1024 )) MiB"; cat "$WORK/nmt.peak.tmp"; } >"$WORK/nmt.peak.txt"; fi;; esac
  fi; sleep 0.5; done ) &
RSSMON=$!
: >"$WORK/push-times.log"
cpu0=$(cpu_s $AGENT_PID)
run_load ours pgsidecar
cpu1=$(cpu_s $AGENT_PID)
# AGENT_JAVA_OPTS=-XX:NativeMemoryTracking=summary: where the agent's memory went, after the load
case "${AGENT_JAVA_OPTS:-}" in
  *NativeMemoryTracking*) "$JAVA_HOME/bin/jcmd" $AGENT_PID VM.native_memory summary >"$WORK/nmt.txt" 2>&1 || true
    grep -E '^(Total|-  *[A-Z][A-Za-z ]+ \(reserved)' "$WORK/nmt.txt" | sed 's/^/  NMT /'
    # malloc and arena memory at its peak (the JIT's arenas: transient, freed after a burst), >= 1 MiB
    awk '/^-  *[A-Z]/ {c=$0; sub(/ *\(reserved.*/, "", c); sub(/^- */, "", c)}
      /\((malloc|arena)=.*peak=/ {k=$0; sub(/^ *\(/, "", k); sub(/=.*/, "", k); match($0, /peak=[0-9]+KB/)
        v=substr($0, RSTART + 5, RLENGTH - 7); if (v + 0 >= 1024) printf "  NMT peak %s %s: %d KB\n", c, k, v}' "$WORK/nmt.txt"
    grep -E '^(Rss|Pss_Anon|Pss_File)' "/proc/$AGENT_PID/smaps_rollup" | tr -s ' ' | sed 's/^/  smaps /'
    # committed memory by category in the snapshot taken at the sampled peak (>= 1 MiB)
    [ -f "$WORK/nmt.peak.txt" ] && { head -1 "$WORK/nmt.peak.txt" | sed 's/^/  NMT at the peak: /'
      awk '/^-  *[A-Z]/ {c=$0; sub(/ *\(reserved.*/, "", c); sub(/^- */, "", c); match($0, /committed=[0-9]+KB/)
        v=substr($0, RSTART + 10, RLENGTH - 12); if (v + 0 >= 1024) printf "%s %d MiB; ", c, v / 1024}
        /^Total/ {match($0, /committed=[0-9]+KB/); printf "Total %d MiB; ", substr($0, RSTART + 10, RLENGTH - 12) / 1024}
        /\((malloc|arena)=/ {k=$0; sub(/^ *\(/, "", k); sub(/=.*/, "", k); match($0, /=[0-9]+KB/)
          v=substr($0, RSTART + 1, RLENGTH - 3); if (v + 0 >= 1024) printf "[%s %s %d MiB] ", c, k, v / 1024}
        END {print ""}' "$WORK/nmt.peak.txt" | sed 's/^/  NMT at the peak: /'; }
    ;;
esac
kill $RSSMON 2>/dev/null || true
HWM_KB=$(awk '/VmHWM/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null || echo 0) # the kernel's peak, start included
# the agent's heap after each collection (GC log), over the whole run: flat with the database
# size when the live set does not grow with it (compare `60 10` with `60 50`)
python3 - "$WORK/agent-gc.log" <<'PY'
import re, sys
young, full, pauses, committed = [], [], [], [0]
for l in open(sys.argv[1], errors="replace"):
    m = re.search(r"Pause (Young|Full).*?(\d+)M->(\d+)M\((\d+)M\) ([0-9.]+)ms", l)
    if m:
        (young if m.group(1) == "Young" else full).append(int(m.group(3)))
        pauses.append(float(m.group(5)))
        committed.append(int(m.group(4)))
if not pauses:
    print("agent GC: no collection logged")
else:
    after = sorted(young + full)
    print(f"agent GC: {len(young)} young, {len(full)} full, longest pause {max(pauses):.0f} ms; heap after GC"
          f" median {after[len(after) // 2]} MiB, max {after[-1]} MiB"
          + (f"; after the full GCs {full}" if full else "") + f"; heap committed at most {max(committed)} MiB")
PY

# client start: wal-archiver against a route that touches no storage (push of a file that is
# not in pg_wal: the agent answers 404 at once), as postgres, like PostgreSQL runs it
client=()
for _ in $(seq 20); do
  s=$(date +%s%N)
  (cd "$PGDATA_ours" && runuser -u postgres -- env PGSIDECAR_SOCKET="$SOCK" "$ROOT/bin/wal-archiver" push pg_wal/0000000100000000000000FF >/dev/null 2>&1) || true
  e=$(date +%s%N); client+=($(( (e - s) / 1000000 )))
done
nocds=()
for _ in $(seq 10); do
  s=$(date +%s%N)
  (cd "$PGDATA_ours" && runuser -u postgres -- env PGSIDECAR_WAL_ARCHIVER_CDS=off PGSIDECAR_SOCKET="$SOCK" "$ROOT/bin/wal-archiver" push pg_wal/0000000100000000000000FF >/dev/null 2>&1) || true
  e=$(date +%s%N); nocds+=($(( (e - s) / 1000000 )))
done
runs=()
for _ in $(seq 10); do
  s=$(date +%s%N); runuser -u postgres -- true; e=$(date +%s%N); runs+=($(( (e - s) / 1000000 )))
done

# archive_command wall times of the load, split by how the agent answered (its log line
# "archived NAME (look-ahead|uploaded|already archived) in N ms")
python3 - "$WORK/push-times.log" "$WORK/agent.log" "${client[*]}" "${nocds[*]}" "${runs[*]}" "${WA_ARCHIVE:-none}" <<'PY'
import re, statistics, sys
times_f, log_f, client, nocds, runs, archive = sys.argv[1:]
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")
def line(label, v):
    if v:
        print(f"{label}: p50 {statistics.median(v):.0f} ms  p99 {pct(v, 0.99):.0f} ms  max {max(v):.0f} ms  (n={len(v)})")
    else:
        print(f"{label}: none")
how = {}
for m in re.finditer(r"archived ([0-9A-F]{24}) \(([a-z -]+)\) in (\d+) ms", open(log_f).read()):
    how[m.group(1)] = (m.group(2), int(m.group(3)))
warm, joined, cold, cold_agent, failed = [], [], [], [], 0
for l in open(times_f):
    name, ms, rc = l.split()
    if rc != "0":
        failed += 1; continue
    kind = how.get(name, ("?", 0))
    if kind[0] == "look-ahead":
        warm.append(int(ms))
    elif kind[0] == "joined":
        joined.append(int(ms))
    elif kind[0] == "uploaded":
        cold.append(int(ms)); cold_agent.append(kind[1])
line("archive_command wall time, segment already stored by look-ahead", warm)
line("archive_command wall time, segment the look-ahead was still uploading (the call waited for it)", joined)
line("archive_command wall time, cold segment (uploaded during the call)", cold)
line("  of which the agent's upload", cold_agent)
c = [int(x) for x in client.split()]
line("  wal-archiver start + round trip, no storage (client start)", c)
line("  same without the AOT/CDS archive", [int(x) for x in nocds.split()])
line("  (runuser -u postgres -- true, included in the two above)", [int(x) for x in runs.split()])
print(f"wal-archiver class-data archive used: {archive}")
print(f"look-ahead had stored {len(warm)} and was uploading {len(joined)} of {len(warm) + len(joined) + len(cold)} successful archive_command calls; failed calls {failed}")
PY
# what was resident at the sampled peak, by mapping (smaps, no NMT needed): the Java heap (an
# -Xmx80m heap lies below 4 GiB, for unscaled compressed oops), the class-data archive (its file,
# relocated: mostly anonymous), glibc's main malloc arena ([heap]), files; the rest, listed by
# size, is the code cache, metaspace and class space, the second malloc arena's heap, thread
# stacks and mallocs above glibc's mmap threshold (a zstd level-3 context is 3.5 MiB)
python3 - "$WORK/agent.peak.smaps" <<'PY' || true
import re, sys
maps, cur = [], None
for l in open(sys.argv[1], errors="replace"):
    m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)", l)
    if m:
        cur = {"size": (int(m.group(2), 16) - int(m.group(1), 16)) // 1024, "perm": m.group(3),
               "low": int(m.group(2), 16) <= 1 << 32,
               "name": m.group(4).strip(), "Rss": 0, "Anonymous": 0}
        maps.append(cur)
    elif cur is not None and l.split(":")[0] in ("Rss", "Anonymous"):
        cur[l.split(":")[0]] = int(l.split()[1])
def kind(m):
    n, size = m["name"], m["size"]
    if n.endswith((".jsa", ".aot")):
        return "class-data archive"
    if n == "[heap]":
        return "malloc main arena"
    if n:
        return "files (libraries, jars)" if not n.startswith("[") else n
    if m["low"]:
        return "Java heap (below 4 GiB, compressed oops)"
    return "other anon maps (code cache, metaspace, thread arenas, stacks, big mallocs)"
tot = {}
for m in maps:
    r, a, n = tot.get(kind(m), (0, 0, 0))
    tot[kind(m)] = (r + m["Rss"], a + m["Anonymous"], n + 1)
print("agent at the sampled peak, resident by mapping (smaps): " + "; ".join(
    f"{k} {r // 1024} MiB ({a // 1024} anon, {n} maps)" for k, (r, a, n) in sorted(tot.items(), key=lambda t: -t[1][0])))
big = sorted((m for m in maps if m["Rss"] >= 1024 and not m["name"]), key=lambda m: -m["Rss"])[:16]
print("  largest anonymous maps, size/resident KiB: " + ", ".join(f"{m['size']}/{m['Rss']}" for m in big))
PY
echo "agent peak RSS: $(( $(cat "$WORK/agent.rss" 2>/dev/null || echo 0) / 1024 )) MiB sampled during the load and drains ($(cat "$WORK/agent.rss.split" 2>/dev/null)), VmHWM $(( ${HWM_KB:-0} / 1024 )) MiB; agent CPU during the load and the drain: $(python3 -c "print(round($cpu1 - $cpu0, 1))") s (JVM flags: ${AGENT_JAVA_OPTS:-defaults})"
read -r ours_rate ours_peak </tmp/walbench.pgsidecar
read -r peer_rate peer_peak </tmp/walbench.pgbackrest
read -r ours_drain </tmp/walbench.pgsidecar.drain
read -r peer_drain </tmp/walbench.pgbackrest.drain
# what each archive stores per segment (all segments of the run, initial load included; pgBackRest's
# container holds only its archive, ours the archive and cluster.json)
read -r peer_n <"$WORK/pgbackrest.archived"
read -r ours_n <"$WORK/pgsidecar.archived"
peer_b=$(az_prefix_bytes pgbr)
ours_b=$(az_prefix_bytes pgsidecar)
python3 -c "print(f'stored per archived segment: pgbackrest {$peer_b / $peer_n / 1e6:.2f} MB ($peer_n segments), pgsidecar {$ours_b / $ours_n / 1e6:.2f} MB ($ours_n segments), ratio {($ours_b / $ours_n) / ($peer_b / $peer_n):.2f}')"
python3 -c "print(f'ratio archived MB/s pgsidecar/pgbackrest = {$ours_rate/$peer_rate:.2f} over the load and its drain, {$ours_drain/$peer_drain:.2f} draining a backlog  (target >= 1.0); peak backlog {$ours_peak} vs {$peer_peak} (target <= 16)')"
bench_record tool=pgbackrest scale="$SCALE" seconds="$SECONDS_RUN" load="$LOAD" archived_mbs="$peer_rate" drain_mbs="$peer_drain" peak_ready="$peer_peak" stored_bytes="$peer_b" segments="$peer_n" process_max="${PGBR_PROCESS_MAX:-2}"
bench_record tool=pgsidecar scale="$SCALE" seconds="$SECONDS_RUN" load="$LOAD" archived_mbs="$ours_rate" drain_mbs="$ours_drain" peak_ready="$ours_peak" stored_bytes="$ours_b" segments="$ours_n" rss_peak_mib=$(( $(cat "$WORK/agent.rss" 2>/dev/null || echo 0) / 1024 )) cpu_ms="$(python3 -c "print(round(($cpu1 - $cpu0) * 1000))")" lookahead_concurrency="${PGSIDECAR_WAL_LOOKAHEAD_CONCURRENCY:-4}"
