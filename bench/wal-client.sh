#!/usr/bin/env bash
# Per-call cost of archive_command and restore_command, side by side, in one run: the static WAL
# client (wal-client/, what the image installs as bin/wal-archiver) against the agent, and
# pgBackRest's archive-push / archive-get, against the same Azurite (HTTPS), on the same segments.
#   bench/wal-client.sh [segments=40]      (KEEP_WORK=1 keeps the work directory)
# Needs a build (./mvnw -DskipTests package) for the agent; builds the client itself.
#
# The segments are real WAL of one cluster (INSERTs of md5 text, then pg_switch_wal), left .ready
# with archive_command = false, so both tools push exactly the same files. Each tool is called
# once per segment, in order, as postgres, in one shell that times each call with $EPOCHREALTIME
# (no process of the timer in the figure), the way PostgreSQL calls it.
#   push, warm: both tools upload ahead of PostgreSQL (pgBackRest archive-async=y, process-max=2:
#   the first call starts an async process that pushes every .ready segment; the agent's
#   look-ahead does the same). The first segment is pushed untimed to start that; before each
#   timed call for the others the script waits (untimed) until that segment is stored: what a
#   call costs when the work is done, i.e. the client, its round trip and the tool's bookkeeping.
#   fetch: each tool fetches every segment in order into a pg_wal, like restore_command
#   (pgBackRest archive-async=y prefetches into its spool, the agent into its prefetch spool);
#   each fetched file is compared with the original.
# The agent runs as postgres when it can read the build tree (as in the pod, where both
# containers share uid 999), so its prefetch spool's files can be hard-linked into place.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-40}

bench_init
start_azurite_https
az_create_container pgbr
az_create_container pgsidecar
command -v pgbackrest >/dev/null || apt-get install -y -q pgbackrest >/dev/null

CLIENT="$WORK/bin/pgsidecar-wal"
"$ROOT/wal-client/build.sh" "$CLIENT"
chmod 755 "$WORK/bin"

pg_start src <<CONF
archive_mode = on
archive_command = 'false'
wal_level = replica
max_wal_size = 4GB
checkpoint_timeout = 30min
synchronous_commit = off
CONF
pg_psql src "create table t (id int, payload text)"
for i in $(seq "$N"); do
  pg_psql src "insert into t select g, md5(g::text) || md5((g + $i)::text) from generate_series(1, 110000) g" >/dev/null
  pg_psql src "select pg_switch_wal()" >/dev/null
done
mapfile -t SEGS < <(ls "$PGDATA_src/pg_wal/archive_status" | sed -n 's/^\([0-9A-F]\{24\}\)\.ready$/\1/p' | sort)
echo "segments: ${#SEGS[@]} real WAL segments of $(du -sh "$PGDATA_src/pg_wal" | cut -f1) in pg_wal"

# one shell as postgres: "label name us rc" per call
timed_calls() { # label cwd command-template (NAME replaced) names...
  local label=$1 cwd=$2 tmpl=$3
  shift 3
  runuser -u postgres -- bash -c '
    label=$1 cwd=$2 tmpl=$3; shift 3; cd "$cwd"
    for n in "$@"; do
      cmd=${tmpl//NAME/$n}
      s=${EPOCHREALTIME/./}
      eval "$cmd" >/dev/null 2>>"'"$WORK"'/$label.err"; rc=$?
      e=${EPOCHREALTIME/./}
      echo "$label $n $(( e - s )) $rc"
    done' _ "$label" "$cwd" "$tmpl" "$@" >>"$WORK/times.log"
}
# warm calls: before each call (untimed), wait until READY-COMMAND NAME says the tool's
# ahead-of-time work stored that segment
timed_warm_calls() { # label cwd command-template ready-command names...
  local label=$1 cwd=$2 tmpl=$3 ready=$4 n
  shift 4
  for n in "$@"; do
    for _ in $(seq 600); do $ready "$n" && break; sleep 0.1; done
    timed_calls "$label" "$cwd" "$tmpl" "$n"
  done
}
: >"$WORK/times.log"
chown postgres "$WORK/times.log"

# --- pgBackRest ---------------------------------------------------------------------------
pgbackrest_conf bench src pgbr
pgbr --stanza=bench stanza-create >/dev/null
(cd "$PGDATA_src" && pgbr --stanza=bench archive-push "$PGDATA_src/pg_wal/${SEGS[0]}")
stored_pgbr() { [ -e "$WORK/pgbackrest/spool/archive/bench/out/$1.ok" ]; }
timed_warm_calls pgbackrest-push "$PGDATA_src" "pgbackrest --config=$PGBACKREST_CONF --stanza=bench archive-push pg_wal/NAME" stored_pgbr "${SEGS[@]:1}"
RESTORE="$WORK/restore"
mkdir -p "$RESTORE/pgbr/pg_wal" "$RESTORE/ours/pg_wal"
# archive-get runs in the data directory it restores into (pg1-path) and checks its pg_control
mkdir -p "$RESTORE/pgbr/global"
cp "$PGDATA_src/global/pg_control" "$RESTORE/pgbr/global/"
cp "$PGDATA_src/PG_VERSION" "$RESTORE/pgbr/"
chown -R postgres "$RESTORE"
timed_calls pgbackrest-fetch "$RESTORE/pgbr" "pgbackrest --config=$PGBACKREST_CONF --stanza=bench --pg1-path=$RESTORE/pgbr archive-get NAME pg_wal/RECOVERYXLOG && mv pg_wal/RECOVERYXLOG pg_wal/NAME" "${SEGS[@]}"

# --- pgsidecar ----------------------------------------------------------------------------
SOCK="$WORK/run/agent.sock"
mkdir -p "$WORK/run" "$WORK/spool"
printf '%s' "$AZ_KEY" >"$WORK/az.key"
cat >"$WORK/agent.yaml" <<YAML
cluster: bench
pgdata: $PGDATA_src
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
chown -R postgres "$WORK/run" "$WORK/spool" "$WORK/az.key" "$WORK/agent.yaml"
AGENT_USER=postgres
runuser -u postgres -- test -r "$(ls "$ROOT"/agent/target/pgsidecar-agent-*.jar | head -1)" || AGENT_USER=root
# AGENT_JAVA_OPTS adds JVM flags for a comparison run (e.g. -Xmx256m)
runuser -u "$AGENT_USER" -- env PGSIDECAR_JAVA_OPTS="-Djavax.net.ssl.trustStore=$AZ_TRUSTSTORE -Djavax.net.ssl.trustStorePassword=changeit ${AGENT_JAVA_OPTS:-}" \
  "$ROOT/bin/pgsidecar" agent --config "$WORK/agent.yaml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
for _ in $(seq 300); do grep -q "agent started" "$WORK/agent.log" && break; sleep 0.1; done
grep -q "agent started" "$WORK/agent.log" || { echo "the agent did not start:" >&2; cat "$WORK/agent.log" >&2; exit 1; }
[ "$AGENT_USER" = root ] && chmod 666 "$SOCK" && echo "(agent as root: the build tree is not readable by postgres; hand-offs fall back to streaming)"
runuser -u postgres -- env PGSIDECAR_SOCKET="$SOCK" "$CLIENT" push "pg_wal/${SEGS[0]}"
stored_ours() { # the segment's object is in the agent's container (the look-ahead stored it)
  python3 - "$AZ_PORT" "$AZ_ACCOUNT" "$AZ_KEY" pgsidecar "$1" <<'PY'
import base64, hashlib, hmac, re, ssl, sys, urllib.request
from email.utils import formatdate
port, account, key, container, seg = sys.argv[1:]
date = formatdate(usegmt=True); version = "2021-08-06"
sts = "GET\n\n\n\n\n\n\n\n\n\n\n\n" + f"x-ms-date:{date}\nx-ms-version:{version}\n/{account}/{account}/{container}\ncomp:list\nrestype:container"
sig = base64.b64encode(hmac.new(base64.b64decode(key), sts.encode(), hashlib.sha256).digest()).decode()
req = urllib.request.Request(f"https://127.0.0.1:{port}/{account}/{container}?restype=container&comp=list",
    headers={"x-ms-date": date, "x-ms-version": version, "Authorization": f"SharedKey {account}:{sig}"})
body = urllib.request.urlopen(req, context=ssl._create_unverified_context()).read().decode()
sys.exit(0 if re.search(r"<Name>[^<]*/wal/[^<]*" + seg + r"[^<]*</Name>", body) else 1)
PY
}
timed_warm_calls pgsidecar-push "$PGDATA_src" "PGSIDECAR_SOCKET=$SOCK $CLIENT push pg_wal/NAME" stored_ours "${SEGS[@]:1}"
timed_calls pgsidecar-fetch "$RESTORE/ours" "PGSIDECAR_WAIT=5 PGSIDECAR_SOCKET=$SOCK $CLIENT fetch NAME pg_wal/NAME" "${SEGS[@]}"
kill -0 $AGENT_PID 2>/dev/null || echo "THE AGENT DIED: $(grep -m1 -E 'OutOfMemory|Terminating|Exception' "$WORK/agent.log")"

# every fetched segment is byte-identical to the original
bad=0
for s in "${SEGS[@]}"; do
  cmp -s "$PGDATA_src/pg_wal/$s" "$RESTORE/ours/pg_wal/$s" || { echo "pgsidecar: $s differs" >&2; bad=1; }
  cmp -s "$PGDATA_src/pg_wal/$s" "$RESTORE/pgbr/pg_wal/$s" || { echo "pgbackrest: $s differs" >&2; bad=1; }
done
[ $bad = 0 ] && echo "all ${#SEGS[@]} fetched segments byte-identical to pg_wal, for both tools"

python3 - "$WORK/times.log" <<'PY'
import statistics, sys
rows = {}
fail = {}
for line in open(sys.argv[1]):
    label, name, us, rc = line.split()
    rows.setdefault(label, []).append(int(us) / 1000)
    if rc != "0":
        fail[label] = fail.get(label, 0) + 1
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round((len(v) - 1) * p)))]
res = {}
for label in ("pgbackrest-push", "pgsidecar-push", "pgbackrest-fetch", "pgsidecar-fetch"):
    v = rows.get(label, [])
    if not v:
        print(f"{label:18s} no calls"); continue
    res[label] = (statistics.median(v), pct(v, 0.99))
    print(f"{label:18s} p50 {statistics.median(v):7.1f} ms  p99 {pct(v, 0.99):7.1f} ms  "
          f"min {min(v):6.1f}  max {max(v):7.1f}  (n={len(v)}, failed {fail.get(label, 0)})")
if "pgsidecar-push" in res and "pgbackrest-push" in res:
    print(f"push (warm) p50 ratio pgsidecar/pgbackrest {res['pgsidecar-push'][0] / res['pgbackrest-push'][0]:.2f} (target <= 1.0)")
if "pgsidecar-fetch" in res and "pgbackrest-fetch" in res:
    print(f"fetch p50 ratio pgsidecar/pgbackrest {res['pgsidecar-fetch'][0] / res['pgbackrest-fetch'][0]:.2f}")
PY
for l in pgbackrest-push pgbackrest-fetch pgsidecar-push pgsidecar-fetch; do
  [ -s "$WORK/$l.err" ] 2>/dev/null && { echo "--- $l stderr (first lines)"; head -5 "$WORK/$l.err"; }
done
exit 0
