#!/usr/bin/env bash
# Builds the pgsidecar OCI image without a container engine:
#   ./scripts/image.sh            -> target/images/pgsidecar.oci.tar (an OCI archive), digest, size
# Push it with: skopeo copy oci-archive:target/images/pgsidecar.oci.tar docker://REGISTRY/pgsidecar:TAG
#
# What goes in (container/README.md has the layout, the user and the volumes):
#   layer 1 "runtime"       the shared libraries the JVM needs (from this Debian's packages),
#                           a static bash, /etc/passwd and /etc/group, a jlinked JRE
#   layer 2 "dependencies"  the third-party jars
#   layer 3 "pgsidecar"     our jars, the class-data (AOT) archive made at build time, the static
#                           WAL client, the launchers
# One layer per rate of change: a code change rebuilds only the last one (a few MB).
#
# Reproducible: same inputs, same digest. Every file time is SOURCE_DATE_EPOCH (default: the
# last commit's time), owners are 0:0, tar entries are sorted, gzip has no name or time, the
# jars are built with project.build.outputTimestamp, the C client without build paths or ids.
# Two inputs are not bit-for-bit repeatable by their tools: jlink's output and the JVM's AOT
# archive (the JVM's dump is not byte-stable). Both are cached under .cache/image/, keyed by
# everything they are made from (JDK release, module list; runtime, jars, flags), so a rebuild of
# the same inputs reuses them and gets the same digest.
#
# Needs root (the class-data archive's training run is chrooted into the image's file tree, which needs a mount
# namespace for /proc), gcc, python3, tar, gzip; installs bash-static (and skopeo, to check the
# archive) with apt when missing. IMAGE_SKIP_MAVEN=1 uses the jars already in */target.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk >/dev/null
cd "$ROOT"
t_start=$(date +%s)

say() { echo "image: $*" >&2; }
need_apt() { # package binary
  command -v "$2" >/dev/null 2>&1 && return 0
  say "installing $1 (apt)"
  apt-get install -y -q "$1" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$1" >/dev/null; }
}
need_apt bash-static bash-static
need_apt gcc gcc
need_apt skopeo skopeo
[ "$(id -u)" = 0 ] || { say "run as root: the class-data archive is made in a chroot of the image's files"; exit 1; }

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# org.opencontainers.image.source: IMAGE_SOURCE, else the git remote when it is a URL (credentials
# cut; a local path would be a build path), else none
SOURCE=${IMAGE_SOURCE:-$(git remote get-url origin 2>/dev/null | grep -E '^(https?|ssh|git)://' | sed 's#//[^/@]*@#//#' || true)}
VERSION=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -1)
OUT=$ROOT/target/images
IMG_CACHE=$CACHE/image
mkdir -p "$OUT" "$IMG_CACHE"
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/pgsidecar-image.XXXXXX")
cleanup() { rm -rf "$STAGE"; }
trap cleanup EXIT

# ---- our jars, reproducible ----------------------------------------------------------------
if [ "${IMAGE_SKIP_MAVEN:-0}" != 1 ]; then
  say "building the jars (./mvnw -DskipTests package)"
  # forceCreation: a jar an earlier build made without the fixed timestamp is made again
  ./mvnw -B -ntp -q -DskipTests -Dproject.build.outputTimestamp="$SOURCE_DATE_EPOCH" -Dmaven.jar.forceCreation=true \
    -pl agent,restore-init -am package >"$STAGE/maven.log" 2>&1 || { tail -40 "$STAGE/maven.log" >&2; exit 1; }
fi
AGENT_JAR=$(ls agent/target/pgsidecar-agent-*.jar | grep -v -e '-tests.jar' -e '-sources.jar' | head -1)
[ -f "$AGENT_JAR" ] || { say "no agent jar under agent/target"; exit 1; }

# ---- the runtime: jlink with the modules jdeps finds, cached by JDK release and module list --
JDK_RELEASE=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$JAVA_HOME/release")
# the union over every jar (a module one jar needs only on some path still has to be there),
# cached by the set of jars: jdeps over 80 jars takes half a minute
JARS_KEY=$( { echo "$JDK_RELEASE"; stat -c '%n %s' agent/target/lib/*.jar; } | sha256sum | cut -c1-16)
if [ -s "$IMG_CACHE/modules-$JARS_KEY" ]; then
  MODULES=$(cat "$IMG_CACHE/modules-$JARS_KEY")
else
  # (one jar at a time: given together, jdeps takes modular jars for modules and stops)
  # and once for the agent's jar with its class path (what is reachable from it)
  MODULES=$( { for j in agent/target/lib/*.jar "$AGENT_JAR"; do
      jdeps -q --ignore-missing-deps --multi-release 25 --print-module-deps "$j" 2>/dev/null || true
    done
    jdeps -q --ignore-missing-deps --multi-release 25 --print-module-deps \
      --class-path "agent/target/lib/*" "$AGENT_JAR" 2>/dev/null; } \
    | tr ',' '\n' | grep -E '^(java|jdk)\.' | sort -u | paste -sd, -)
  # jdeps sees no reflective or service-loaded needs: TLS cipher suites (jdk.crypto.ec), Netty's
  # Unsafe (jdk.unsupported), the zip file system, DNS (JNDI), the JVM's own metrics
  MODULES=$(echo "$MODULES,jdk.crypto.ec,jdk.unsupported,jdk.zipfs,jdk.naming.dns,jdk.management" \
    | tr ',' '\n' | sort -u | paste -sd, -)
  echo "$MODULES" >"$IMG_CACHE/modules-$JARS_KEY"
fi
# Left out although jdeps names them, 10 MB: java.desktop (what refers to it is off the image's
# paths: Jackson's optional java.beans annotations, which it skips when absent; AWT in JNA and in
# msal4j's interactive browser login; PostgreSQL JDBC's PGpoint) and java.compiler (named only by
# vertx-core-logging's module-info; the class path ignores it)
MODULES=$(echo "$MODULES" | tr ',' '\n' | grep -v -x -e java.desktop -e java.compiler | paste -sd, -)
JRE_KEY=$(echo "$JDK_RELEASE $MODULES" | sha256sum | cut -c1-16)
JRE=$IMG_CACHE/jre-$JDK_RELEASE-$JRE_KEY
if [ ! -x "$JRE/bin/java" ]; then
  say "jlink: $MODULES"
  rm -rf "$JRE.tmp"
  jlink --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages \
    --compress zip-6 --output "$JRE.tmp"
  # headless: java.desktop is needed for java.beans, not its native windowing, font and image
  # libraries (which would also pull X11 libraries in); the default CDS archives are replaced
  # by our class-data archive; libjvm.so ships with symbols
  rm -f "$JRE.tmp"/lib/{libawt_xawt,libsplashscreen,libfontmanager,libfreetype,liblcms,libmlib_image,libjavajpeg,libjsound}.so \
    "$JRE.tmp"/lib/server/classes*.jsa
  strip --strip-unneeded "$JRE.tmp/lib/server/libjvm.so"
  mv "$JRE.tmp" "$JRE"
fi

# ---- file trees of the three layers --------------------------------------------------------
L1=$STAGE/runtime L2=$STAGE/dependencies L3=$STAGE/pgsidecar
mkdir -p "$L1"/{bin,etc,lib64,tmp,opt/pgsidecar,pgsidecar/run,pgsidecar/spool,proc,dev,sys} "$L1/lib/x86_64-linux-gnu" \
  "$L2/opt/pgsidecar/lib/lib" "$L3/opt/pgsidecar/bin" "$L3/opt/pgsidecar/lib/lib"
cp -a "$JRE" "$L1/opt/pgsidecar/jre"
rm -f "$L1/opt/pgsidecar/jre/release.tmp"
cp /bin/bash-static "$L1/bin/bash"
ln -s bash "$L1/bin/sh"
# PostgreSQL's client programs the agent runs (base backups, dumps and their restore), at the
# agent's default postgres.bin-dir; the major version must match the server's (15)
PG_BIN_SRC=${PGSIDECAR_PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$PG_BIN_SRC/pg_basebackup" ] || need_apt postgresql-client-15 /usr/lib/postgresql/15/bin/pg_basebackup
mkdir -p "$L1/usr/lib/postgresql/15/bin"
for b in pg_basebackup pg_dump pg_dumpall pg_restore psql; do cp "$PG_BIN_SRC/$b" "$L1/usr/lib/postgresql/15/bin/"; done
# the libraries the JRE's and PostgreSQL's binaries link against, and the loader, from this
# machine's Debian packages
libs=$(find "$L1/opt/pgsidecar/jre" "$L1/usr/lib/postgresql" -type f \( -name '*.so' -o -path '*/bin/*' \) -exec ldd {} \; 2>/dev/null \
  | awk '/=> \// {print $3} /^\t\/lib64\// {print $1}' | sort -u)
for l in $libs; do
  case $l in "$L1"/*) continue ;; esac
  real=$(readlink -f "$l")
  cp "$real" "$L1/lib/x86_64-linux-gnu/$(basename "$l")"
done
cp "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$L1/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$L1/lib64/ld-linux-x86-64.so.2"
PKGS=$( { for l in $libs /lib64/ld-linux-x86-64.so.2 /bin/bash-static "$PG_BIN_SRC/pg_basebackup"; do dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l" 2>/dev/null; done; } \
  | cut -d: -f1 | sort -u | while read -r p; do echo "$p=$(dpkg-query -W -f='${Version}' "$p")"; done | paste -sd' ' -)
# uid/gid 999 as in the official postgres image, so the agent shares files with PostgreSQL
printf 'root:x:0:0:root:/root:/sbin/nologin\npgsidecar:x:999:999:pgsidecar:/pgsidecar:/sbin/nologin\n' >"$L1/etc/passwd"
printf 'root:x:0:\npgsidecar:x:999:\n' >"$L1/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$L1/etc/nsswitch.conf"
printf '%s\n' "runtime: $JDK_RELEASE jlink ($MODULES)" "debian packages: $PKGS" >"$L1/opt/pgsidecar/jre/pgsidecar-runtime.txt"

# jars: third-party in layer 2, ours (io.pgsidecar modules) in layer 3
for j in agent/target/lib/*.jar; do
  case $(basename "$j") in
    *-osx-*|*-windows-*|*-aarch_64*|*-macos*|*kqueue*) ;; # native code for other platforms
    pgsidecar-*|restore-init-*|wal-archiver-*) cp "$j" "$L3/opt/pgsidecar/lib/lib/" ;;
    *) cp "$j" "$L2/opt/pgsidecar/lib/lib/" ;;
  esac
done
# zstd-jni and jna carry native libraries for every platform: keep Linux x86-64's (their loaders
# pick the one for the running platform); entries keep their times, so this is deterministic
python3 - "$L2"/opt/pgsidecar/lib/lib/zstd-jni-*.jar "$L2"/opt/pgsidecar/lib/lib/jna-[0-9]*.jar <<'PY'
import os, re, sys, zipfile
foreign = re.compile(r"^((aix|darwin|freebsd|win)/|linux/(?!amd64/)[^/]+/|com/sun/jna/(?!linux-x86-64/)[a-z0-9]+-[a-z0-9-]+/)")
for jar in sys.argv[1:]:
    tmp = jar + ".tmp"
    with zipfile.ZipFile(jar) as src, zipfile.ZipFile(tmp, "w") as dst:
        for info in src.infolist():
            if not foreign.match(info.filename):
                dst.writestr(info, src.read(info))
    os.replace(tmp, jar)
PY
cp "$AGENT_JAR" "$L3/opt/pgsidecar/lib/pgsidecar-agent.jar"
"$ROOT/wal-client/build.sh" "$L3/opt/pgsidecar/bin/wal-archiver"
ln -s wal-archiver "$L3/opt/pgsidecar/bin/pgsidecar-install-client"
cp container/bin/pgsidecar container/bin/restore-init container/bin/pgsidecar-install-runtime "$L3/opt/pgsidecar/bin/"
mkdir -p "$L3/opt/pgsidecar/bin/lib"
cp bin/lib/agent-jvm.sh "$L3/opt/pgsidecar/bin/lib/" # the agent's JVM flags, one file for both launchers

# ---- normalise modes and times (the JVM checks the class path's sizes and mtimes against the
# AOT archive's, so the training run must see the times the image will have) -----------------
for d in "$L1" "$L2" "$L3"; do
  find "$d" -type d -exec chmod 755 {} +
  find "$d" -type f -perm /111 -exec chmod 755 {} +
  find "$d" -type f ! -perm /111 -exec chmod 644 {} +
done
chmod 1777 "$L1/tmp"
find "$L1" "$L2" "$L3" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# ---- the class-data archive: the classes the agent loads from its start to /readyz ----------
# A CDS archive with AOT-linked classes (-Xshare:dump -XX:+AOTClassLinking, used through
# -XX:AOTCache), made in a chroot of the image's files: the JVM ties it to the exact class path and
# runtime. What goes in is chosen for the 150 MB budget (container/README.md has the figures): the
# classes of our code, Vert.x, Netty, Jackson's streaming core, picocli, JDBC that the agent loads
# from its start to a ready /readyz with a filesystem repository and a Prometheus scrape.
# Left out: JDK classes (10 MB more for a fifth of the gain), the Azure and AWS SDKs, Apache
# HttpClient and Reactor (they load from the jars when the repository is Azure or S3), Bouncy
# Castle (archivable since the build unsigns the jars, scripts/UnsignJars.java; left out for the
# budget: it loads only when a key or passphrase is configured), and since the S3 driver's jars (11.7 MB) came in:
# Micrometer, the Prometheus model, SnakeYAML and Jackson's databind (30.2 MB instead of 35.7 MB).
# A full AOT cache of the same start is 56 MB and does not fit. Cached by a checksum of everything
# it depends on, this recipe included.
ROOTFS=$STAGE/rootfs
mkdir -p "$ROOTFS"
cp -a "$L1/." "$L2/." "$L3/." "$ROOTFS/"
printf '127.0.0.1 localhost\n' >"$ROOTFS/etc/hosts" # the kubelet provides it in a pod
in_image() { # [--userspec=U:G] ROOT command...: chroot into the image's files (/proc, /dev mounted),
  # with only the image's environment (and PGSIDECAR_JAVA_OPTS when set)
  unshare -m --propagation private bash -c 'r=$1; o=$2; c=$3; shift 3
    mount -t proc proc "$r/proc" && mount --bind /dev "$r/dev" &&
    exec env -i PATH=/opt/pgsidecar/bin:/opt/pgsidecar/jre/bin:/bin LANG=C.UTF-8 TMPDIR=/tmp \
      ${o:+PGSIDECAR_JAVA_OPTS="$o"} "$c" "$@"' _ "$ROOTFS" "${PGSIDECAR_JAVA_OPTS:-}" "$(command -v chroot)" "$@"
}
AOT_KEY=$( { cat container/bin/pgsidecar bin/lib/agent-jvm.sh; sed -n '/^# ---- the class-data archive/,/^AOT_ON=0/p' "$0"; echo "$SOURCE_DATE_EPOCH"
  find "$L1/opt/pgsidecar/jre" "$L2" "$L3/opt/pgsidecar/lib" -type f -printf '%P %s\n' | sort
  sha256sum "$L3/opt/pgsidecar/lib/pgsidecar-agent.jar" "$L3"/opt/pgsidecar/lib/lib/*.jar | cut -c1-64; } \
  | sha256sum | cut -c1-16)
AOT=$IMG_CACHE/pgsidecar-$AOT_KEY.aot
if [ "${IMAGE_AOT:-on}" = off ]; then
  say "IMAGE_AOT=off: no class-data archive (the agent starts slower, the image is smaller)"
elif [ ! -s "$AOT" ]; then
  say "training run for the class-data archive (the agent in a chroot, to /readyz)"
  flags=$(source bin/lib/agent-jvm.sh; f=(--enable-native-access=ALL-UNNAMED)
    for x in "${AGENT_JVM_FLAGS[@]}"; do f+=("${x#jdk[0-9][0-9]+:}"); done; echo "${f[*]}")
  T=$ROOTFS/tmp/training
  mkdir -p "$T/repo" "$T/pgdata"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '%s\n' "cluster: training" "pgdata: /tmp/training/pgdata" "socket: /tmp/training/agent.sock" \
    "http:" "  admin-socket: /tmp/training/admin.sock" "storage:" "  type: fs" "  path: /tmp/training/repo" \
    "metrics:" "  host: 127.0.0.1" "  port: $port" >"$T/agent.yaml"
  chown -R 999:999 "$T"
  PGSIDECAR_JAVA_OPTS="-XX:DumpLoadedClassList=/tmp/training/classlist" in_image --userspec=999:999 "$ROOTFS" \
    /opt/pgsidecar/bin/pgsidecar agent --config /tmp/training/agent.yaml </dev/null >"$STAGE/training.log" 2>&1 &
  agent=$!
  # ready, then what Prometheus and the kubelet ask every few seconds; SIGTERM ends it as in a pod
  python3 - "$port" <<'PY' || { kill "$agent" 2>/dev/null; wait "$agent"; tail -30 "$STAGE/training.log" >&2; say "the agent did not get ready in the training run"; exit 1; }
import sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.time() + 180
while True:
    try:
        if urllib.request.urlopen(base + "/readyz", timeout=5).status == 200:
            break
    except Exception:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.1)
for _ in range(3):
    for path in ("/healthz", "/metrics"):
        urllib.request.urlopen(base + path, timeout=5).read()
PY
  kill -TERM "$agent"; wait "$agent" || true
  # our and the frameworks' classes, by name (the class list's ids are dropped: one loader)
  excl='^(java|javax|jdk|sun|com/sun|com/azure|com/microsoft|com/nimbusds|net/minidev|reactor|org/bouncycastle|software/amazon|org/apache/hc|io/micrometer|io/prometheus|org/yaml|com/fasterxml/jackson/(databind|dataformat|datatype))/'
  awk -v re="$excl" '/^#/ {next} /^@lambda-proxy/ {if ($2 !~ re) print; next} /^@/ {print; next} {if ($1 !~ re) print $1}' \
    "$T/classlist" >"$ROOTFS/tmp/pgsidecar.classlist"
  # shellcheck disable=SC2086
  in_image "$ROOTFS" /opt/pgsidecar/jre/bin/java $flags -Xshare:dump -XX:+AOTClassLinking \
    -XX:SharedClassListFile=/tmp/pgsidecar.classlist -XX:SharedArchiveFile=/tmp/pgsidecar.aot \
    -cp /opt/pgsidecar/lib/pgsidecar-agent.jar </dev/null >"$STAGE/dump.log" 2>&1 \
    || { tail -30 "$STAGE/dump.log" >&2; say "the class-data archive could not be made"; exit 1; }
  say "class-data archive: $(grep -c '^[a-z]' "$ROOTFS/tmp/pgsidecar.classlist") classes of the agent's start"
  cp "$T/classlist" "$IMG_CACHE/training.classlist" # what the training loaded, to weigh the choice
  cp "$ROOTFS/tmp/pgsidecar.aot" "$AOT.tmp" && mv "$AOT.tmp" "$AOT"
  rm -rf "$T" "$ROOTFS/tmp/pgsidecar.aot" "$ROOTFS/tmp/pgsidecar.classlist" "$ROOTFS"/tmp/hsperfdata_*
  { ls "$IMG_CACHE"/pgsidecar-*.aot | grep -v -F "$AOT" | xargs -r rm -f; } || true # earlier inputs' archives
fi
AOT_ON=0
if [ "${IMAGE_AOT:-on}" != off ]; then
  AOT_ON=1
  for f in "$L3/opt/pgsidecar/lib/pgsidecar.aot" "$ROOTFS/opt/pgsidecar/lib/pgsidecar.aot"; do
    cp "$AOT" "$f" && chmod 644 "$f" && touch -d "@$SOURCE_DATE_EPOCH" "$f"
  done
fi

# ---- smoke test in the image's files, as uid 999: the launchers start with the class-data archive
# (AOTMode=on fails when the JVM cannot use it), the WAL client runs, the installer installs ----
rm -rf "$ROOTFS/tmp/"*
in_image --userspec=999:999 "$ROOTFS" /opt/pgsidecar/bin/pgsidecar --help >/dev/null 2>"$STAGE/smoke.log" \
  || { cat "$STAGE/smoke.log" >&2; say "the agent does not start in the image"; exit 1; }
AOT_CHECK=; [ $AOT_ON = 1 ] && AOT_CHECK=-XX:AOTMode=on
PGSIDECAR_JAVA_OPTS="$AOT_CHECK" in_image --userspec=999:999 "$ROOTFS" /opt/pgsidecar/bin/pgsidecar --help >/dev/null 2>"$STAGE/smoke.log" \
  || { cat "$STAGE/smoke.log" >&2; say "the JVM refuses the class-data archive in the image"; exit 1; }
# (restore-init has no --help: a missing config file is answered by the program, past the JVM)
PGSIDECAR_JAVA_OPTS="$AOT_CHECK" in_image --userspec=999:999 "$ROOTFS" /opt/pgsidecar/bin/restore-init \
  --config /nonexistent >/dev/null 2>"$STAGE/smoke.log" || true
grep -q '^restore-init: ' "$STAGE/smoke.log" \
  || { cat "$STAGE/smoke.log" >&2; say "restore-init does not start with the class-data archive in the image"; exit 1; }
in_image --userspec=999:999 "$ROOTFS" /opt/pgsidecar/bin/pgsidecar-install-client /tmp/client >/dev/null \
  && cmp -s "$ROOTFS/tmp/client/bin/wal-archiver" "$L3/opt/pgsidecar/bin/wal-archiver" \
  || { say "pgsidecar-install-client did not install the WAL client"; exit 1; }
in_image --userspec=999:999 "$ROOTFS" /usr/lib/postgresql/15/bin/pg_basebackup --version >/dev/null \
  || { say "pg_basebackup does not run in the image"; exit 1; }

# ---- the OCI archive ------------------------------------------------------------------------
python3 "$ROOT/container/oci.py" --out "$OUT/pgsidecar.oci.tar" --epoch "$SOURCE_DATE_EPOCH" \
  --revision "$REVISION" --source "$SOURCE" --version "$VERSION" --runtime "$JDK_RELEASE" --packages "$PKGS" \
  --layer "runtime=$L1" --layer "dependencies=$L2" --layer "pgsidecar=$L3"

# ---- checks: no build path, no secret; readable by skopeo ----------------------------------
for d in "$L1" "$L2" "$L3"; do
  if grep -r -l -a -F -e "$ROOT" -e "$HOME/.m2" -e "$STAGE" "$d" >"$STAGE/leaks" 2>/dev/null; then
    say "build paths inside the image:"; sed 's/^/  /' "$STAGE/leaks" >&2; exit 1
  fi
done
skopeo inspect --raw "oci-archive:$OUT/pgsidecar.oci.tar" >/dev/null
say "built in $(( $(date +%s) - t_start )) s"
