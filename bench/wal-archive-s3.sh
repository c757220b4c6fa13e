#!/usr/bin/env bash
# WAL archiving to S3, side by side: pgBackRest 2.45 archive-push (repo1-type=s3, archive-async=y,
# process-max=2, zst level 1) and pgsidecar (wal-archiver -> agent, storage.type s3, zstd level 1,
# its defaults otherwise), each on a fresh cluster, against the same S3Mock 4.11.0 over HTTPS
# (its own certificate; pgBackRest with repo1-storage-verify-tls=n, the agent trusting it).
#   bench/wal-archive-s3.sh [backlog rounds=64] [cold pushes=20]   (KEEP_WORK=1, PGBR_ASYNC=n)
# A backlog round writes about 12 MB of WAL (64 rounds: about 50 segments). PGBR_ASYNC=n runs
# pgBackRest's archive-push synchronously (archive-async=n) instead of its default here (y).
# Two measurements per tool:
#   1. cold push latency: one segment written, pg_switch_wal(), wait until archived; repeated.
#      Every archive_command call is timed by a wrapper (bash's clock): p50 / p99.
#   2. archiving throughput: archive_command = false while PostgreSQL writes a backlog of
#      segments, then the real command again; segments/s until no .ready file is left, and the
#      p50 / p99 of those archive_command calls.
# Prints both tools' figures, the ratios ours/pgBackRest and the machine's load (uptime) before
# and after: on a shared machine the load moves the figures; compare runs at similar load.
# Needs root, PostgreSQL 15 (PGSIDECAR_PG_BIN), a JDK >= 21, ./mvnw -DskipTests package done
# (bin/pgsidecar, bin/wal-archiver, testkit/target/s3-servers/s3mock-exec.jar), and pgBackRest:
# installed with apt-get when missing (the script says so).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BACKLOG=${1:-64}
PGBR_ASYNC=${PGBR_ASYNC:-y}
COLD=${2:-20}
SEG=$((16 * 1024 * 1024))
S3MOCK_JAR=${PGSIDECAR_S3MOCK_JAR:-$ROOT/testkit/target/s3-servers/s3mock-exec.jar}
S3_KEY=pgsidecar-bench
S3_SECRET=pgsidecar-bench-secret

if ! command -v pgbackrest >/dev/null 2>&1; then
  echo "pgbackrest is not installed: installing it with apt-get (package pgbackrest)"
  apt-get install -y -q pgbackrest >/dev/null
fi
[ -f "$S3MOCK_JAR" ] || { echo "error: $S3MOCK_JAR missing: run ./mvnw -B -pl testkit generate-resources (or set PGSIDECAR_S3MOCK_JAR)" >&2; exit 2; }
for f in "$ROOT/bin/pgsidecar" "$ROOT/bin/wal-archiver"; do [ -x "$f" ] || { echo "error: $f missing" >&2; exit 2; }; done

bench_init
echo "load before: $(uptime) ($(nproc) CPUs)"
echo "pgBackRest: $(pgbackrest version), archive-async=$PGBR_ASYNC"

# --- S3Mock: HTTPS for both tools (pgBackRest speaks only TLS), HTTP for the script's own calls
S3_HTTPS=$(free_port)
S3_HTTP=$(free_port)
mkdir -p "$WORK/s3mock/data"
"$JAVA_HOME/bin/java" -Xmx512m -jar "$S3MOCK_JAR" --server.port="$S3_HTTPS" --server.address=127.0.0.1 \
  --com.adobe.testing.s3mock.httpPort="$S3_HTTP" --com.adobe.testing.s3mock.store.root="$WORK/s3mock/data" \
  --spring.main.banner-mode=off --logging.level.root=WARN >"$WORK/s3mock/s3mock.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 600); do curl -s "http://127.0.0.1:$S3_HTTP/" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf -X PUT "http://127.0.0.1:$S3_HTTP/pgbr" >/dev/null
curl -sf -X PUT "http://127.0.0.1:$S3_HTTP/pgsidecar" >/dev/null
# S3Mock's certificate names localhost: the agent connects to https://localhost:PORT and trusts it
echo | openssl s_client -connect "127.0.0.1:$S3_HTTPS" 2>/dev/null | openssl x509 >"$WORK/s3mock/cert.pem"
keytool -importcert -noprompt -alias s3mock -file "$WORK/s3mock/cert.pem" -keystore "$WORK/s3mock/ts.p12" \
  -storetype PKCS12 -storepass changeit >/dev/null 2>&1
chmod 755 "$WORK/s3mock"; chmod 644 "$WORK/s3mock/ts.p12"

s3_bucket_bytes() { # bucket -> total bytes stored (ListObjectsV2, unsigned: S3Mock checks no signature)
  python3 - "$S3_HTTP" "$1" <<'PY'
import re, sys, urllib.request, urllib.parse
port, bucket = sys.argv[1:]
total, token = 0, None
while True:
    q = {"list-type": "2", "max-keys": "1000"}
    if token: q["continuation-token"] = token
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/{bucket}?{urllib.parse.urlencode(q)}").read().decode()
    total += sum(int(x) for x in re.findall(r"<Size>(\d+)</Size>", body))
    m = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", body)
    if not m: break
    token = m.group(1)
print(total)
PY
}

common_conf() {
  cat <<CONF
archive_mode = on
wal_level = replica
max_wal_size = 4GB
checkpoint_timeout = 30min
synchronous_commit = off
shared_buffers = 128MB
CONF
}

ready_count() { ls "$1/pg_wal/archive_status" | grep -c '\.ready$' || true; }

# archive_command through a wrapper that appends "segment ms exit" to $WORK/$label.times
timed_wrapper() { # label command... -> path of the wrapper
  local label=$1 f="$WORK/$1-push"
  shift
  cat >"$f" <<SH
#!/bin/bash
s=\${EPOCHREALTIME/./}
$* "\$1"
rc=\$?
e=\${EPOCHREALTIME/./}
echo "\${1##*/} \$(( (e - s) / 1000 )) \$rc" >>$WORK/$label.times
exit \$rc
SH
  chmod 755 "$f"
  : >"$WORK/$label.times"; chown postgres "$WORK/$label.times"
  echo "$f"
}

fill_segment() { # name: about one segment of WAL (md5 text rows, as bench/wal-archive.sh writes)
  pg_psql "$1" "insert into walbench select g, md5(g::text) || md5((g + 1)::text) from generate_series(1, 100000) g" >/dev/null
}

run_tool() { # name label wrapper
  local name=$1 label=$2 wrapper=$3 pgdata_var="PGDATA_$1"
  local pgdata=${!pgdata_var} a t0 t1 n f0
  pg_psql "$name" "create table walbench (id int, payload text)" >/dev/null
  pg_psql "$name" "alter system set archive_command = '$wrapper %p'" >/dev/null
  pg_psql "$name" "select pg_reload_conf()" >/dev/null
  pg_psql "$name" "select pg_switch_wal()" >/dev/null
  for _ in $(seq 600); do [ "$(ready_count "$pgdata")" -eq 0 ] && break; sleep 0.2; done
  : >"$WORK/$label.times"
  # 1. cold pushes: one segment at a time, nothing queued
  for _ in $(seq "$COLD"); do
    fill_segment "$name"
    a=$(pg_psql "$name" "select archived_count from pg_stat_archiver")
    pg_psql "$name" "select pg_switch_wal()" >/dev/null
    for _ in $(seq 1200); do
      [ "$(pg_psql "$name" "select archived_count from pg_stat_archiver")" -gt "$a" ] && break; sleep 0.05
    done
  done
  mv "$WORK/$label.times" "$WORK/$label.cold"; : >"$WORK/$label.times"; chown postgres "$WORK/$label.times"
  # 2. a backlog, then its drain
  pg_psql "$name" "alter system set archive_command = 'false'" >/dev/null
  pg_psql "$name" "select pg_reload_conf()" >/dev/null
  for _ in $(seq "$BACKLOG"); do fill_segment "$name"; done
  pg_psql "$name" "select pg_switch_wal()" >/dev/null
  sleep 1
  n=$(ready_count "$pgdata")
  f0=$(pg_psql "$name" "select failed_count from pg_stat_archiver") # the 'false' ones
  pg_psql "$name" "alter system set archive_command = '$wrapper %p'" >/dev/null
  t0=$(now_ms)
  pg_psql "$name" "select pg_reload_conf()" >/dev/null
  for _ in $(seq 4800); do [ "$(ready_count "$pgdata")" -eq 0 ] && break; sleep 0.1; done
  t1=$(now_ms)
  echo "$n $t0 $t1 $(( $(pg_psql "$name" "select failed_count from pg_stat_archiver") - f0 ))" >"$WORK/$label.drain"
  mv "$WORK/$label.times" "$WORK/$label.drained"
}

# --- pgBackRest ---------------------------------------------------------------------------
pg_start peer < <(common_conf)
d="$WORK/pgbackrest"
mkdir -p "$d/log" "$d/lock" "$d/spool"
cat >"$d/pgbackrest.conf" <<CONF
[global]
repo1-type=s3
repo1-s3-bucket=pgbr
repo1-s3-endpoint=127.0.0.1
repo1-storage-port=$S3_HTTPS
repo1-s3-region=us-east-1
repo1-s3-key=$S3_KEY
repo1-s3-key-secret=$S3_SECRET
repo1-s3-uri-style=path
repo1-storage-verify-tls=n
repo1-path=/pgbackrest
log-path=$d/log
lock-path=$d/lock
spool-path=$d/spool
log-level-console=warn
log-level-file=info
compress-type=zst
compress-level=1
process-max=2
archive-async=$PGBR_ASYNC

[bench]
pg1-path=$PGDATA_peer
pg1-port=$PGPORT_peer
pg1-socket-path=$WORK/peer
CONF
chown -R postgres "$d"; chmod 600 "$d/pgbackrest.conf"
PGBACKREST_CONF="$d/pgbackrest.conf"
pgbr --stanza=bench stanza-create >/dev/null
run_tool peer pgbackrest "$(timed_wrapper pgbackrest pgbackrest --config="$PGBACKREST_CONF" --stanza=bench archive-push)"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_peer" -m fast stop >/dev/null

# --- pgsidecar ----------------------------------------------------------------------------
# wal-archiver's class-data archive, made beside its jar as an image build makes it
"$ROOT/bin/wal-archiver" prepare-cache >"$WORK/prepare-cache.log" 2>&1 || cat "$WORK/prepare-cache.log" >&2
pg_start ours < <(common_conf)
SOCK="$WORK/agent.sock"
printf '%s' "$S3_KEY" >"$WORK/s3-id"; printf '%s' "$S3_SECRET" >"$WORK/s3-secret"; chmod 600 "$WORK/s3-id" "$WORK/s3-secret"
cat >"$WORK/agent.yaml" <<YAML
cluster: bench
pgdata: $PGDATA_ours
socket: $SOCK
http:
  admin-socket: $WORK/admin.sock
storage:
  type: s3
  s3:
    bucket: pgsidecar
    endpoint: https://localhost:$S3_HTTPS
    region: us-east-1
    path-style: true
    auth: static
    access-key-id-file: $WORK/s3-id
    secret-access-key-file: $WORK/s3-secret
wal:
  spool-dir: $WORK/spool
  compression-level: 1
metrics:
  port: 0
YAML
PGSIDECAR_JAVA_OPTS="-Djavax.net.ssl.trustStore=$WORK/s3mock/ts.p12 -Djavax.net.ssl.trustStorePassword=changeit ${AGENT_JAVA_OPTS:-}" \
  "$ROOT/bin/pgsidecar" agent --config "$WORK/agent.yaml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
for _ in $(seq 600); do grep -q "agent started" "$WORK/agent.log" && break; sleep 0.1; done
grep -q "agent started" "$WORK/agent.log" || { echo "the agent did not start:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
chmod 666 "$SOCK" # the agent runs as root here, PostgreSQL as postgres
( peak=0; while kill -0 $AGENT_PID 2>/dev/null; do r=$(rss_kb $AGENT_PID); [ "$r" -gt "$peak" ] && peak=$r && echo $peak >"$WORK/agent.rss"; sleep 0.5; done ) &
PIDS+=($!)
run_tool ours pgsidecar "$(timed_wrapper pgsidecar env PGSIDECAR_SOCKET="$SOCK" "$ROOT/bin/wal-archiver" push)"

echo "load after: $(uptime)"
echo "agent peak RSS: $(( $(cat "$WORK/agent.rss" 2>/dev/null || echo 0) / 1024 )) MiB"
python3 - "$WORK" "$SEG" "$(s3_bucket_bytes pgbr)" "$(s3_bucket_bytes pgsidecar)" <<'PY'
import statistics, sys
work, seg, peer_bytes, ours_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def times(f):
    v, failed = [], 0
    for l in open(f):
        name, ms, rc = l.split()
        if rc == "0": v.append(int(ms))
        else: failed += 1
    return sorted(v), failed
def pct(v, p): return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")
fig = {}
for label in ("pgbackrest", "pgsidecar"):
    cold, cf = times(f"{work}/{label}.cold")
    drained, df = times(f"{work}/{label}.drained")
    n, t0, t1, failed = map(int, open(f"{work}/{label}.drain").read().split())
    secs = (t1 - t0) / 1000
    fig[label] = dict(cold50=statistics.median(cold), cold99=pct(cold, 0.99), drain50=statistics.median(drained),
                      drain99=pct(drained, 0.99), segs=n / secs, mbs=n * seg / 1e6 / secs)
    print(f"{label:10s} cold push: p50 {fig[label]['cold50']:.0f} ms  p99 {fig[label]['cold99']:.0f} ms (n={len(cold)}, failed {cf});"
          f"  backlog of {n} segments drained in {secs:.1f} s = {fig[label]['segs']:.2f} segments/s ({fig[label]['mbs']:.1f} MB/s),"
          f" calls p50 {fig[label]['drain50']:.0f} ms  p99 {fig[label]['drain99']:.0f} ms (n={len(drained)}, failed {df}; archiver failures {failed})")
o, p = fig["pgsidecar"], fig["pgbackrest"]
print(f"ratios pgsidecar/pgBackRest: cold push p50 {o['cold50']/p['cold50']:.2f}, p99 {o['cold99']/p['cold99']:.2f} (lower is faster);"
      f" drain segments/s {o['segs']/p['segs']:.2f}, call p50 {o['drain50']/p['drain50']:.2f}, p99 {o['drain99']/p['drain99']:.2f}")
print(f"stored in S3Mock: pgBackRest {peer_bytes/1e6:.1f} MB, pgsidecar {ours_bytes/1e6:.1f} MB (same WAL generator, different clusters)")
PY
