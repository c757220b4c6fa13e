#!/usr/bin/env bash
# Builds the pod drill's stand-in for the official postgres:15 image, as a directory:
#   e2e/pod/postgres-image.sh OUT_DIR
# Debian bookworm minbase with postgresql-15 (mmdebstrap, from Debian's packages): bash, no
# curl, no JVM, the postgres user created as 999:999 before the package is installed, no
# cluster made by the package, docker-entrypoint.sh at /usr/local/bin, and image.json with
# the image's Entrypoint, Cmd, Env and StopSignal as the official image declares them.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
command -v mmdebstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; }
rm -rf "$out.tmp"
mkdir -p "$(dirname "$out")"
mmdebstrap --quiet --variant=minbase --include=postgresql-15 --dpkgopt=force-confold \
  --essential-hook='echo "postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash" >>"$1/etc/passwd"' \
  --essential-hook='echo "postgres:*:19000:0:99999:7:::" >>"$1/etc/shadow"' \
  --essential-hook='echo "postgres:x:999:" >>"$1/etc/group"' \
  --essential-hook='mkdir -p "$1/etc/postgresql-common" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.conf"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
  bookworm "$out.tmp"
install -m 755 "$here/docker-entrypoint.sh" "$out.tmp/usr/local/bin/docker-entrypoint.sh"
install -d -o 999 -g 999 -m 3777 "$out.tmp/var/run/postgresql"
install -d -o 999 -g 999 -m 1777 "$out.tmp/var/lib/postgresql/data"
cat >"$out.tmp/image.json" <<'JSON'
{"Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["postgres"], "StopSignal": "SIGINT",
 "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin",
         "LANG=C.UTF-8", "PG_MAJOR=15", "PGDATA=/var/lib/postgresql/data"]}
JSON
for forbidden in curl java; do
  if chroot "$out.tmp" /bin/bash -c "command -v $forbidden" >/dev/null; then echo "error: $forbidden is in the postgres image" >&2; exit 1; fi
done
[ "$(chroot "$out.tmp" id -u postgres)" = 999 ] || { echo "error: postgres is not uid 999 in the postgres image" >&2; exit 1; }
mv "$out.tmp" "$out"
