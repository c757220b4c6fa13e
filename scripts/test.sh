#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing, then runs every test.
#   ./scripts/test.sh            all modules, `./mvnw -B verify`
#   ./scripts/test.sh -pl core   extra arguments go to Maven
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

find_jdk

PG_BIN=/usr/lib/postgresql/15/bin
AZURITE_VERSION=3.35.0

need_apt=()
[ -x "$PG_BIN/initdb" ] || need_apt+=(postgresql-15)
[ -d /usr/share/postgresql/15/extension ] && [ -f /usr/share/postgresql/15/extension/pgcrypto.control ] || need_apt+=(postgresql-contrib-15)
command -v gpg >/dev/null || need_apt+=(gnupg)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v zstd >/dev/null || need_apt+=(zstd)
command -v curl >/dev/null || need_apt+=(curl)
command -v python3 >/dev/null || need_apt+=(python3)
command -v strace >/dev/null || need_apt+=(strace)
command -v gcc >/dev/null || need_apt+=(gcc libc6-dev) # wal-client: the static WAL client
command -v node >/dev/null || need_apt+=(nodejs npm)
# PodDrillTest: a Debian rootfs with postgresql-15 as the postgres image (mmdebstrap), Prometheus
command -v mmdebstrap >/dev/null || need_apt+=(mmdebstrap)
[ -x /usr/bin/prometheus ] || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing ${need_apt[*]}; run as root or 'sudo apt-get install ${need_apt[*]}'" >&2
    exit 1
  fi
  echo "installing ${need_apt[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # The Debian package starts a cluster of its own; tests start their own clusters.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done
  fi
fi
# A stock `prometheus` service is started by the package; tests only need promtool.
systemctl stop prometheus >/dev/null 2>&1 || true

# The tests run PostgreSQL as the postgres user (initdb refuses root), and its archive_command
# and restore_command run this checkout's bin/wal-archiver: every directory above the checkout
# must let postgres through. A clone under `mktemp -d` (mode 0700) does not, and archiving then
# hangs until a test times out. Grant traversal only (o+x, no listing), and say so.
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 \
    && ! runuser -u postgres -- test -x "$ROOT/bin/wal-archiver"; then
  dirs=()
  d=$ROOT
  while [ "$d" != / ]; do dirs=("$d" "${dirs[@]}"); d=$(dirname "$d"); done
  for d in "${dirs[@]}"; do
    if ! runuser -u postgres -- test -x "$d"; then
      chmod o+x "$d"
      echo "made $d traversable for the postgres user (chmod o+x): tests run PostgreSQL as postgres"
    fi
  done
  runuser -u postgres -- test -x "$ROOT/bin/wal-archiver" || {
    echo "error: the postgres user cannot run $ROOT/bin/wal-archiver; tests need it (archive_command)" >&2
    exit 1
  }
fi

if [ ! -f "$CACHE/azurite/node_modules/azurite/dist/src/blob/main.js" ]; then
  echo "installing azurite@$AZURITE_VERSION (npm, into .cache/azurite)"
  mkdir -p "$CACHE/azurite"
  (cd "$CACHE/azurite" && npm install --silent --no-audit --no-fund --no-save "azurite@$AZURITE_VERSION" >/dev/null)
fi
export PGSIDECAR_AZURITE_MAIN="$CACHE/azurite/node_modules/azurite/dist/src/blob/main.js"

# The chart's objects are validated offline against the Kubernetes API schemas (KubernetesSchemaTest).
K8S_MODELS="$CACHE/kubernetes-models-5.1.0"
if [ ! -d "$K8S_MODELS/node_modules/@kubernetes-models/prometheus-operator" ] || [ ! -d "$K8S_MODELS/node_modules/kubernetes-models" ]; then
  echo "installing kubernetes-models@5.1.0 and @kubernetes-models/prometheus-operator@6.0.0 (npm, into .cache/kubernetes-models-5.1.0)"
  mkdir -p "$K8S_MODELS"
  (cd "$K8S_MODELS" && npm install --silent --no-audit --no-fund --no-save kubernetes-models@5.1.0 @kubernetes-models/prometheus-operator@6.0.0 >/dev/null)
fi
export PGSIDECAR_KUBERNETES_MODELS="$K8S_MODELS/node_modules"
export PGSIDECAR_PG_BIN="$PG_BIN"

# PodDrillTest runs the image of target/images/pgsidecar.oci.tar and builds it itself
# (./scripts/image.sh, with this build's jars) when it is missing or older than its sources; the
# postgres stand-in image (e2e/pod/postgres-image.sh) is built once into .cache/pod/.

# bench/ is a module of this reactor: `verify` compiles its JMH benchmarks and the harnesses
# bench/*.sh start (DumpDirect, BackupAgent, against the agent's classes) without running them,
# so a moved class fails here rather than at the next benchmark.
exec ./mvnw -B -ntp verify "$@"
