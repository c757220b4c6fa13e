#!/usr/bin/env bash
# Logical dump benchmark: pgsidecar (pg_dump -Fc -Z0 | zstd | OpenPGP | parallel block upload,
# one stream, no temp file) against the usual recipe: pg_dump -Fc (its default compression) to a
# local file, then gpg --symmetric, then `az storage blob upload`, all into the same Azurite.
# Prints wall times and stored sizes, and the ratios ours/peer. Run by hand (not in the tests):
#   bench/dump.sh                 # pgbench scale 100 (about 1.5 GB of tables)
#   SCALE=10 bench/dump.sh        # quicker
# Needs: PostgreSQL 15 binaries, node + Azurite (.cache/azurite, see scripts/test.sh), gpg,
# azure-cli (installed with apt-get when missing and running as root), JDK 21+.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
source scripts/lib.sh
find_jdk

SCALE=${SCALE:-100}
PG_BIN=${PGSIDECAR_PG_BIN:-/usr/lib/postgresql/15/bin}
AZURITE_MAIN=${PGSIDECAR_AZURITE_MAIN:-$ROOT/.cache/azurite/node_modules/azurite/dist/src/blob/main.js}
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

if ! command -v az >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "error: azure-cli missing; apt-get install azure-cli" >&2; exit 1; }
  echo "installing azure-cli (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq azure-cli >/dev/null
fi
[ -f "$AZURITE_MAIN" ] || { echo "error: Azurite not found at $AZURITE_MAIN; run scripts/test.sh once" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

WORK=$(mktemp -d /tmp/pgsidecar-bench-dump-XXXXXX)
chown postgres "$WORK"
PG_PORT=$(free_port)
AZ_PORT=$(free_port)
AZ_PID=
cleanup() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pgdata" -m fast -w stop >/dev/null 2>&1 || true
  [ -n "$AZ_PID" ] && kill "$AZ_PID" 2>/dev/null && wait "$AZ_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== build"
./mvnw -B -q -pl bench -am package -DskipTests 2>&1 | grep -v '^WARNING' || true
# DumpDirect lives in the bench module (io.pgsidecar.bench), compiled by every build
CP="bench/target/classes:bench/target/lib/*"
[ -f bench/target/classes/io/pgsidecar/bench/DumpDirect.class ] || { echo "bench build failed" >&2; exit 1; }

echo "== PostgreSQL on port $PG_PORT, pgbench -i -s $SCALE"
runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pgdata" -U postgres -A trust --no-sync >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/pg.log" -w \
  -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_wal_size=4GB" start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres
"$PG_BIN/psql" -Xq -c "CREATE DATABASE bench"
"$PG_BIN/pgbench" -q -i -s "$SCALE" bench 2>&1 | tail -1
"$PG_BIN/psql" -XAt -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size('bench'))"

echo "== Azurite on port $AZ_PORT"
node "$AZURITE_MAIN" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --location "$WORK/azurite" \
  --skipApiVersionCheck --loose --disableTelemetry --silent >"$WORK/azurite.log" 2>&1 &
AZ_PID=$!
CONN="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=http://127.0.0.1:$AZ_PORT/devstoreaccount1;"
export AZURE_STORAGE_CONNECTION_STRING=$CONN AZURE_CORE_COLLECT_TELEMETRY=no
for _ in $(seq 100); do az storage container list -o none 2>/dev/null && break; sleep 0.2; done
az storage container create -n ours -o none 2>/dev/null
az storage container create -n peer -o none 2>/dev/null

head -c 32 /dev/urandom | base64 > "$WORK/passphrase"
mkdir -m 700 "$WORK/gnupg"

echo "== ours: pgsidecar DumpService (pg_dump -Fc -Z0 | zstd -3 | OpenPGP AES-256 | Azure blocks)"
t0=$(now)
OURS=$(BENCH_AZURE_CONNECTION_STRING=$CONN BENCH_CONTAINER=ours BENCH_PASSPHRASE_FILE="$WORK/passphrase" \
  BENCH_PG_BIN=$PG_BIN BENCH_PG_HOST=127.0.0.1 BENCH_PG_PORT=$PG_PORT BENCH_DB=bench \
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$CP" io.pgsidecar.bench.DumpDirect \
  2> "$WORK/ours.err") || { cat "$WORK/ours.err" >&2; exit 1; }
t1=$(now)
OURS_WALL=$(echo "$t1 - $t0" | bc)
OURS_STORED=$(echo "$OURS" | sed 's/.*"storedSize":\([0-9]*\).*/\1/')
OURS_RAW=$(echo "$OURS" | sed 's/.*"rawSize":\([0-9]*\).*/\1/')
echo "$OURS"

echo "== peer: pg_dump -Fc > file; gpg --symmetric (AES256, no extra compression); az storage blob upload"
t0=$(now)
"$PG_BIN/pg_dump" -Fc -d bench -f "$WORK/bench.dump"
t1=$(now)
gpg --batch --quiet --homedir "$WORK/gnupg" --pinentry-mode loopback --passphrase-file "$WORK/passphrase" \
  --symmetric --cipher-algo AES256 --compress-algo none -o "$WORK/bench.dump.gpg" "$WORK/bench.dump"
t2=$(now)
az storage blob upload -c peer -n bench.dump.gpg -f "$WORK/bench.dump.gpg" -o none 2>/dev/null
t3=$(now)
gpgconf --homedir "$WORK/gnupg" --kill gpg-agent 2>/dev/null || true
PEER_WALL=$(echo "$t3 - $t0" | bc)
PEER_STORED=$(az storage blob show -c peer -n bench.dump.gpg --query properties.contentLength -o tsv 2>/dev/null)
printf 'pg_dump %.1f s, gpg %.1f s, upload %.1f s\n' "$(echo "$t1 - $t0" | bc)" \
  "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)"

echo "== reference: pg_dump -Fc -Z0 > /dev/null (what any pg_dump-based tool waits for)"
t0=$(now)
"$PG_BIN/pg_dump" -Fc -Z0 -d bench > /dev/null
FLOOR_WALL=$(echo "$(now) - $t0" | bc)
printf 'pg_dump -Z0 alone %.1f s\n' "$FLOOR_WALL"

echo
echo "== results (scale $SCALE, pg_dump -Z0 output $(numfmt --to=iec "$OURS_RAW"))"
printf '%-8s %10s %14s\n' "" "wall (s)" "stored"
printf '%-8s %10.1f %14s\n' ours "$OURS_WALL" "$(numfmt --to=iec "$OURS_STORED")"
printf '%-8s %10.1f %14s\n' peer "$PEER_WALL" "$(numfmt --to=iec "$PEER_STORED")"
printf '%-8s %10.1f %14s\n' floor "$FLOOR_WALL" "(not stored)"
printf 'ratio ours/peer: wall %.2f, stored size %.3f\n' "$(echo "$OURS_WALL / $PEER_WALL" | bc -l)" \
  "$(echo "$OURS_STORED / $PEER_STORED" | bc -l)"
