#!/bin/sh
# Builds the static WAL client: wal-client/build.sh OUTPUT_FILE
# Run by Maven (wal-client/pom.xml, compile phase) and by scripts/image.sh. Static, so it runs in
# any Linux container (the stock postgres image has no curl and no JVM); glibc's static libc is
# fine here: the client resolves no names (no NSS). Reproducible: no dates, no build paths
# (-ffile-prefix-map), stripped, a fixed build id.
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)
out=${1:?usage: build.sh OUTPUT_FILE}
mkdir -p "$(dirname "$out")"
command -v "${CC:-gcc}" >/dev/null 2>&1 || {
  echo "wal-client: no C compiler (${CC:-gcc}); install gcc (apt-get install gcc libc6-dev)" >&2
  exit 1
}
"${CC:-gcc}" -std=c11 -O2 -Wall -Wextra -Werror -Wno-format-truncation -static -s \
  -ffile-prefix-map="$here"=wal-client -Wl,--build-id=none \
  -o "$out.tmp" "$here/src/pgsidecar-wal.c" "$here/src/sha256.c"
mv -f "$out.tmp" "$out"
