# Shared by the end-to-end benchmark scripts: a throwaway PostgreSQL, Azurite over HTTPS (so
# pgBackRest, which only speaks TLS, and pgsidecar use the same emulator), and pgBackRest's
# configuration against it. Sourced, not run. Everything lives under $WORK and is removed by
# bench_cleanup (trap it).

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
find_jdk >/dev/null

PG_BIN=${PGSIDECAR_PG_BIN:-/usr/lib/postgresql/15/bin}
AZURITE_MAIN=${PGSIDECAR_AZURITE_MAIN:-$ROOT/.cache/azurite/node_modules/azurite/dist/src/blob/main.js}
AZ_ACCOUNT=devstoreaccount1
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
PIDS=()

bench_init() { # creates $WORK owned by postgres
  WORK=$(mktemp -d "/tmp/pgsidecar-bench-$(basename "$0" .sh).XXXXXX")
  chmod 755 "$WORK"
  chown postgres "$WORK"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  set +e
  [ -n "${PGDATA_DIRS:-}" ] && for d in $PGDATA_DIRS; do runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

now_ms() { date +%s%3N; }

# Azurite over HTTPS with a self-signed certificate; sets AZ_PORT, AZ_CERT, AZ_TRUSTSTORE.
start_azurite_https() {
  local dir="$WORK/azurite"
  mkdir -p "$dir/data"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 30 \
    -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1
  AZ_CERT="$dir/cert.pem"
  AZ_TRUSTSTORE="$dir/ts.p12"
  keytool -importcert -noprompt -alias azurite -file "$AZ_CERT" -keystore "$AZ_TRUSTSTORE" \
    -storetype PKCS12 -storepass changeit >/dev/null 2>&1
  AZ_PORT=$(free_port)
  node "$AZURITE_MAIN" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --location "$dir/data" \
    --skipApiVersionCheck --loose --disableTelemetry --silent \
    --cert "$dir/cert.pem" --key "$dir/key.pem" >"$dir/azurite.log" 2>&1 &
  AZ_PID=$!
  PIDS+=($AZ_PID)
  for _ in $(seq 300); do
    curl -sk "https://127.0.0.1:$AZ_PORT/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "azurite did not start; see $dir/azurite.log" >&2
  return 1
}

az_endpoint() { echo "https://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT"; }

# Creates a blob container with a Shared Key signed request (no Azure CLI needed).
az_create_container() {
  python3 - "$AZ_PORT" "$AZ_ACCOUNT" "$AZ_KEY" "$1" <<'PY'
import base64, hashlib, hmac, ssl, sys, urllib.request
from email.utils import formatdate
port, account, key, name = sys.argv[1:]
date = formatdate(usegmt=True)
version = "2021-08-06"
resource = f"/{account}/{account}/{name}\nrestype:container"
sts = "PUT\n\n\n\n\n\n\n\n\n\n\n\n" + f"x-ms-date:{date}\nx-ms-version:{version}\n" + resource
sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
req = urllib.request.Request(f"https://127.0.0.1:{port}/{account}/{name}?restype=container", method="PUT",
    headers={"x-ms-date": date, "x-ms-version": version, "Authorization": f"SharedKey {account}:{sig}",
             "Content-Length": "0"})
urllib.request.urlopen(req, context=ssl._create_unverified_context()).read()
PY
}

# Sum of blob sizes under a prefix in a container.
az_prefix_bytes() {
  python3 - "$AZ_PORT" "$AZ_ACCOUNT" "$AZ_KEY" "$1" "${2:-}" <<'PY'
import base64, hashlib, hmac, ssl, sys, urllib.request, re
from email.utils import formatdate
port, account, key, container, prefix = sys.argv[1:]
total, marker = 0, ""
while True:
    date = formatdate(usegmt=True); version = "2021-08-06"
    q = {"comp": "list", "restype": "container", "prefix": prefix, "maxresults": "5000"}
    if marker: q["marker"] = marker
    canon = "".join(f"\n{k}:{q[k]}" for k in sorted(q))
    sts = "GET\n\n\n\n\n\n\n\n\n\n\n\n" + f"x-ms-date:{date}\nx-ms-version:{version}\n/{account}/{account}/{container}" + canon
    sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
    qs = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in q.items())
    req = urllib.request.Request(f"https://127.0.0.1:{port}/{account}/{container}?{qs}",
        headers={"x-ms-date": date, "x-ms-version": version, "Authorization": f"SharedKey {account}:{sig}"})
    body = urllib.request.urlopen(req, context=ssl._create_unverified_context()).read().decode()
    total += sum(int(x) for x in re.findall(r"<Content-Length>(\d+)</Content-Length>", body))
    m = re.search(r"<NextMarker>([^<]+)</NextMarker>", body)
    if not m: break
    marker = m.group(1)
print(total)
PY
}

# initdb + start a cluster as postgres; sets PGDATA_<name>, PGPORT_<name>; extra conf on stdin;
# INITDB_OPTS: more initdb options (e.g. --wal-segsize=64).
pg_start() {
  local name=$1 dir="$WORK/$1" port
  port=$(free_port)
  mkdir -p "$dir" && chown postgres "$dir"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust ${INITDB_OPTS:-} >/dev/null
  {
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$dir'"
    cat
  } >>"$dir/data/postgresql.conf"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
  PGDATA_DIRS="${PGDATA_DIRS:-} $dir/data"
  printf -v "PGDATA_$name" '%s' "$dir/data"
  printf -v "PGPORT_$name" '%s' "$port"
}

pg_psql() { # name sql
  local port_var="PGPORT_$1"
  runuser -u postgres -- "$PG_BIN/psql" -h 127.0.0.1 -p "${!port_var}" -U postgres -d postgres -XAtq -c "$2"
}

# pgBackRest configuration for stanza $1 on cluster $2 against the Azurite container $3.
pgbackrest_conf() {
  local stanza=$1 name=$2 container=$3 pgdata_var="PGDATA_$2" port_var="PGPORT_$2"
  local d="$WORK/pgbackrest"
  mkdir -p "$d/log" "$d/lock" "$d/spool"
  chown -R postgres "$d"
  local repo
  # PGBR_REPO=posix: a repository in $WORK/repo-<container> on the local disk instead of Azurite
  if [ "${PGBR_REPO:-azure}" = posix ]; then
    mkdir -p "$WORK/repo-$container" && chown postgres "$WORK/repo-$container"
    repo="repo1-type=posix
repo1-path=$WORK/repo-$container"
  else
    repo="repo1-type=azure
repo1-azure-account=$AZ_ACCOUNT
repo1-azure-key=$AZ_KEY
repo1-azure-container=$container
repo1-storage-host=127.0.0.1
repo1-storage-port=$AZ_PORT
repo1-azure-uri-style=path
repo1-storage-verify-tls=n
repo1-path=/pgbackrest"
  fi
  cat >"$d/pgbackrest.conf" <<CONF
[global]
$repo
log-path=$d/log
lock-path=$d/lock
spool-path=$d/spool
log-level-console=warn
log-level-file=info
compress-type=zst
compress-level=3
process-max=${PGBR_PROCESS_MAX:-2}
archive-async=y
start-fast=y

[$stanza]
pg1-path=${!pgdata_var}
pg1-port=${!port_var}
pg1-host-user=postgres
pg1-socket-path=$WORK/$name
CONF
  chown postgres "$d/pgbackrest.conf"
  chmod 600 "$d/pgbackrest.conf"
  PGBACKREST_CONF="$d/pgbackrest.conf"
}

pgbr() { runuser -u postgres -- pgbackrest --config="$PGBACKREST_CONF" "$@"; }

# Resident set size (kB) of a PID, sampled.
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU seconds (user + system) a process has used so far
cpu_s() { awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$1/stat"; }

# --- WAL under write load (bench/wal-archive.sh, bench/wal-load.sh) ------------------------
# .ready files waiting in a cluster's pg_wal
ready_count() { ls "$1/pg_wal/archive_status" 2>/dev/null | grep -c '\.ready$' || true; }

sample_backlog() { # pgdata outfile: writes the peak .ready count to outfile until killed
  local peak=0 n
  while true; do
    n=$(ready_count "$1")
    [ "$n" -gt "$peak" ] && peak=$n && echo "$peak" >"$2"
    sleep 0.2
  done
}

wait_drained() { # pgdata [tries of 0.25 s]: until no .ready is left (or the tries are spent)
  for _ in $(seq "${2:-1200}"); do [ "$(ready_count "$1")" -eq 0 ] && return 0; sleep 0.25; done
  return 1
}

# The bulk load: pgbench with 2 clients of 20000-row INSERTs (~3 MB of WAL per transaction) into
# table walbench, as fast as the server can. bulk_sql writes the script to $WORK/bulk.sql.
bulk_sql() {
  echo "INSERT INTO walbench SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 20000) g;" >"$WORK/bulk.sql"
  chmod 644 "$WORK/bulk.sql"
}
bulk_load() { # port seconds outfile
  runuser -u postgres -- "$PG_BIN/pgbench" -h 127.0.0.1 -p "$1" -U postgres -c 2 -j 2 -T "$2" -n -f "$WORK/bulk.sql" postgres >"$3" 2>&1
}

# children_cpu_ms VAR: user + system CPU (ms) of this shell's reaped children so far, into VAR
# (bash's `times`, in this shell: a $(...) subshell would count its own children only)
children_cpu_ms() {
  local f; f=$(mktemp); times >"$f"
  printf -v "$1" '%s' "$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }; printf "%d", t * 1000 }' "$f")"
  rm -f "$f"
}

# bench_record KEY=VALUE...: one machine-readable result line per measurement, for bench/curves.sh
# and bench/report. Appends a JSON object to the file named by BENCH_RESULTS (nothing when it is
# unset, and nothing on stdout, so a script prints what it printed before) with the script's name
# ("bench"), the time, the 1-minute load average, BENCH_STREAMS and BENCH_RUN when set, and the
# given fields; values that read as numbers are written as numbers. Never fails the caller.
bench_record() {
  [ -n "${BENCH_RESULTS:-}" ] || return 0
  python3 - "$BENCH_RESULTS" "$(basename "$0" .sh)" "$@" <<'PY' || echo "bench_record: could not append to $BENCH_RESULTS" >&2
import datetime, json, os, sys
path, bench, *pairs = sys.argv[1:]
rec = {"bench": bench, "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
       "load1": os.getloadavg()[0]}
for k in ("BENCH_STREAMS", "BENCH_RUN"):
    if os.environ.get(k):
        rec[k[6:].lower()] = os.environ[k]
for p in pairs:
    k, _, v = p.partition("=")
    rec[k] = v
for k, v in list(rec.items()):
    if isinstance(v, str):
        try:
            rec[k] = int(v)
        except ValueError:
            try:
                f = float(v)
                if f == f and f not in (float("inf"), float("-inf")):
                    rec[k] = f
            except ValueError:
                pass
with open(path, "a") as f:
    f.write(json.dumps(rec) + "\n")
PY
}
