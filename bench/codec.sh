#!/usr/bin/env bash
# Codec throughput against the reference tools, on the same input, plus a constant-memory run:
#   1. real WAL: a throwaway PostgreSQL 15 cluster (as user postgres), pgbench -i -s 5 and a
#      short pgbench run with checkpoints (full-page images), archived segments copied out;
#   2. zstd CLI -1 / -3 over those segments vs our ZstdCodec, interleaved round by round (Duel:
#      the ratios), single-threaded (CLI --single-thread) and with one compression worker (CLI
#      -T1, its default; ours compression.workers=1), then JMH (ZstdBench, workers 0);
#   3. gpg --symmetric --cipher-algo AES256 --compress-algo none vs our PgpCodec with a
#      passphrase over 256 MiB of those segments, the same way (Duel, then JMH PgpBench);
#   3b. OpenPGP decryption, the restore path: DECRYPT_MIB (1024) MiB of those segments (repeated),
#      encrypted once by gpg and once by us (passphrase, then an RSA key made for the run), each
#      decrypted by the other side (SHA-256 checked), interleaved (Duel pgp-decrypt);
#   4. a 1 GiB generated object through zstd+pgp to a file and back under -Xmx64m: peak heap.
# Prints MB/s (10^6 bytes/s) and the ratios ours/theirs (targets: zstd >= 0.95, pgp >= 1.5, pgp decryption >= 1.2).
#   bench/codec.sh [segments=25]    RUNS=7 interleaved rounds; KEEP_WORK=1 keeps the work dir;
#   CODEC_PARTS="zstd pgp decrypt memory" (the default: all) runs only the parts named
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
find_jdk
SEGMENTS=${1:-25}
PG_BIN=${PGSIDECAR_PG_BIN:-/usr/lib/postgresql/15/bin}
RUNS=${RUNS:-7}
MEMORY_BYTES=$((1024 * 1024 * 1024))
DECRYPT_MIB=${DECRYPT_MIB:-1024}
PARTS=" ${CODEC_PARTS:-zstd pgp decrypt memory} "
part() { [[ $PARTS == *" $1 "* ]]; }
PGPID=""

WORK=$(mktemp -d /tmp/pgsidecar-codec-bench.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  set +e
  [ -n "$PGPID" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1
  [ -n "${GNUPGHOME:-}" ] && GNUPGHOME="$GNUPGHOME" gpgconf --kill gpg-agent 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

mbps() { awk -v b="$1" -v ms="$2" 'BEGIN {printf "%.0f", b / 1e6 / (ms / 1000)}'; }

echo "== build (bench module)"
(cd "$ROOT" && ./mvnw -B -q -pl bench -am package -DskipTests 2>&1 | grep -v '^WARNING' || true)
CP="$ROOT/bench/target/classes:$ROOT/bench/target/lib/*"
[ -f "$ROOT/bench/target/classes/META-INF/BenchmarkList" ] || { echo "bench build failed" >&2; exit 1; }
JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED)

echo "== WAL: initdb, pgbench -i -s 5, pgbench with checkpoints until $SEGMENTS segments are archived"
mkdir -p "$WORK/pg/archive" && chown -R postgres "$WORK/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres -A trust >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat >>"$WORK/pg/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK/pg'
archive_mode = on
archive_command = 'cp %p $WORK/pg/archive/%f'
max_wal_size = 2GB
checkpoint_timeout = 30min
synchronous_commit = off
CONF
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w start >/dev/null
PGPID=$(head -1 "$WORK/pg/data/postmaster.pid")
PGARGS=(-h "$WORK/pg" -p "$PORT" -U postgres)
runuser -u postgres -- "$PG_BIN/pgbench" "${PGARGS[@]}" -i -s 5 -q postgres >/dev/null 2>&1
archived() { find "$WORK/pg/archive" -name '[0-9A-F]*' -size 16M | wc -l; }
deadline=$(( $(date +%s) + 240 ))
while [ "$(archived)" -lt "$SEGMENTS" ] && [ "$(date +%s)" -lt "$deadline" ]; do
  runuser -u postgres -- "$PG_BIN/pgbench" "${PGARGS[@]}" -n -c 2 -j 2 -T 8 postgres >/dev/null 2>&1
  runuser -u postgres -- "$PG_BIN/psql" "${PGARGS[@]}" -qAtc 'CHECKPOINT; SELECT pg_switch_wal()' postgres >/dev/null
  sleep 1
done
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null
PGPID=""
mkdir -p "$WORK/wal"
find "$WORK/pg/archive" -name '[0-9A-F]*' -size 16M | sort | head -n "$SEGMENTS" | xargs -I{} cp {} "$WORK/wal/"
rm -rf "$WORK/pg"
mapfile -t FILES < <(find "$WORK/wal" -type f | sort)
WAL_BYTES=$(cat "${FILES[@]}" | wc -c)
echo "segments: ${#FILES[@]} ($WAL_BYTES bytes)"
[ "${#FILES[@]}" -ge 10 ] || { echo "too few WAL segments" >&2; exit 1; }

RESULTS=()
ratios_of() { grep -oP 'ratio=\K[0-9.]+' <<<"$1" | paste -sd' ' | sed 's/ /, cpu /'; }
jmh_ms() { # json file, level or "" -> ms/op
  python3 - "$1" "$2" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    if sys.argv[2] in ("", r.get("params", {}).get("level")):
        print(r["primaryMetric"]["score"]); break
PY
}

if part zstd; then
echo "== zstd CLI ($(zstd --version | grep -oE 'v[0-9.]+')) vs ZstdCodec (zstd-jni $(ls "$ROOT/bench/target/lib" | grep -oP 'zstd-jni-\K[0-9.-]+(?=\.jar)'))"
cat "${FILES[@]}" >/dev/null
for level in 1 3; do
  # workers 0: both on one thread (CLI --single-thread --no-asyncio); workers 1: compression on
  # one background thread while the caller reads, the CLI's default -T1 and our workers=1.
  for workers in 0 1; do
    line=$("${JAVA[@]}" -Dclk.tck="$(getconf CLK_TCK)" -cp "$CP" io.pgsidecar.bench.Duel zstd "$level" "$RUNS" "$WORK/wal" "$workers")
    echo "interleaved: $line"
    RESULTS+=("zstd -$level workers=$workers ours/CLI: wall $(ratios_of "$line") (target >= 0.95)")
  done
  cli_size=$(zstd -q -"$level" -T1 -c "${FILES[@]}" | wc -c)
  ours_size=$("${JAVA[@]}" -cp "$CP" io.pgsidecar.bench.StoredSize "$WORK/wal" zstd "$level")
  echo "stored: CLI $cli_size bytes, ours $ours_size bytes of $WAL_BYTES"
done
"${JAVA[@]}" -cp "$CP" org.openjdk.jmh.Main ZstdBench -p walDir="$WORK/wal" -p level=1,3 \
  -rf json -rff "$WORK/zstd.json" >"$WORK/zstd-jmh.log" 2>&1 || { tail -30 "$WORK/zstd-jmh.log"; exit 1; }
for level in 1 3; do
  echo "JMH ZstdBench level $level: $(mbps "$WAL_BYTES" "$(jmh_ms "$WORK/zstd.json" $level)") MB/s"
done
fi

export GNUPGHOME="$WORK/gnupg"
mkdir -m 700 "$GNUPGHOME"
if part pgp; then

echo "== gpg --symmetric AES256 --compress-algo none vs PgpCodec passphrase, 256 MiB of WAL"
cat "${FILES[@]:0:16}" >"$WORK/pgp-input"
PGP_BYTES=$(stat -c %s "$WORK/pgp-input")
line=$("${JAVA[@]}" -Dclk.tck="$(getconf CLK_TCK)" -cp "$CP" io.pgsidecar.bench.Duel pgp - "$RUNS" "$WORK/pgp-input")
echo "interleaved: $line"
RESULTS+=("pgp ours/gpg: wall $(ratios_of "$line") (target >= 1.5)")
gpgconf --kill gpg-agent
"${JAVA[@]}" -cp "$CP" org.openjdk.jmh.Main PgpBench -p input="$WORK/pgp-input" \
  -rf json -rff "$WORK/pgp.json" >"$WORK/pgp-jmh.log" 2>&1 || { tail -30 "$WORK/pgp-jmh.log"; exit 1; }
echo "JMH PgpBench: $(mbps "$PGP_BYTES" "$(jmh_ms "$WORK/pgp.json" "")") MB/s"
rm -f "$WORK/pgp-input"
fi

if part decrypt; then
echo "== OpenPGP decryption: gpg --decrypt of ours vs our PgpCodec of gpg's, ${DECRYPT_MIB} MiB of WAL (segments repeated)"
i=0
while [ "$(stat -c %s "$WORK/pgp-input" 2>/dev/null || echo 0)" -lt $((DECRYPT_MIB * 1024 * 1024)) ]; do
  cat "${FILES[$((i % ${#FILES[@]}))]}" >>"$WORK/pgp-input"
  i=$((i + 1))
done
truncate -s $((DECRYPT_MIB * 1024 * 1024)) "$WORK/pgp-input"
gpg --batch --passphrase '' --quick-gen-key 'pgsidecar bench <bench@pgsidecar.invalid>' rsa3072 sign never 2>/dev/null
FPR=$(gpg --list-keys --with-colons 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --passphrase '' --quick-add-key "$FPR" rsa3072 encr never 2>/dev/null
gpg --export --armor "$FPR" >"$WORK/bench-public.asc"
gpg --batch --pinentry-mode loopback --passphrase '' --export-secret-keys --armor "$FPR" >"$WORK/bench-secret.asc"
for who in passphrase "$FPR"; do
  line=$("${JAVA[@]}" -Dclk.tck="$(getconf CLK_TCK)" -cp "$CP" io.pgsidecar.bench.Duel pgp-decrypt "$who" \
    "$RUNS" "$WORK/pgp-input" "$WORK/bench-public.asc" "$WORK/bench-secret.asc")
  echo "interleaved: $line"
  RESULTS+=("pgp-decrypt $( [ "$who" = passphrase ] && echo passphrase || echo public-key) ours/gpg: wall $(ratios_of "$line") (target >= 1.2)")
done
gpgconf --kill gpg-agent
rm -f "$WORK/pgp-input"
fi

if part memory; then
echo "== memory: 1 GiB generated object through zstd+pgp into FsStorage and back, -Xmx64m"
mkdir -p "$WORK/mem"
"${JAVA[@]}" -Xmx64m -Xlog:gc:file="$WORK/gc.log" -cp "$CP" io.pgsidecar.bench.MemoryRun \
  "$MEMORY_BYTES" "$WORK/mem"
# From the GC log ("Pause Young ... 40M->3M(64M)"): heap in use before a collection (how full
# G1 lets the young generation get) and after one (what is really live: the buffers).
echo "memory.gc_log_peak_before_gc_mib=$(grep -oE '[0-9]+M->[0-9]+M' "$WORK/gc.log" | cut -dM -f1 | sort -n | tail -1)"
echo "memory.gc_log_max_after_gc_mib=$(grep -oE '[0-9]+M->[0-9]+M' "$WORK/gc.log" | sed 's/.*->//; s/M//' | sort -n | tail -1)"
echo "memory.gc_count=$(grep -c 'Pause' "$WORK/gc.log")"
fi
echo "== ratios ours/theirs (median of per-round ratios of interleaved runs; wall time, CPU time)"
printf '%s\n' "${RESULTS[@]}"
