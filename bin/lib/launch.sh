# The one launcher library: every launcher in bin/ (pgsidecar, restore-init, wal-archiver) and
# the scripts (scripts/lib.sh) find Java here; the JVM launchers also find their jar and exec it.
# Sourced, not run. Sourcing it starts no process, and find_java uses bash builtins only until
# it must resolve `java` on PATH: wal-archiver runs once per WAL segment, so the Java version is
# read from the JDK's `release` file instead of starting a JVM to ask it.

JAVA_MIN_MAJOR=21

java_major_of() { # HOME: sets JAVA_MAJOR from HOME/release (0, status 1 when unknown); builtins only
  local line v
  JAVA_MAJOR=0
  [ -r "$1/release" ] || return 1
  while IFS= read -r line; do
    case $line in
      JAVA_VERSION=*)
        v=${line#JAVA_VERSION=}; v=${v//\"/}; v=${v#1.}; v=${v%%[._+-]*} # "1.8.0_x" -> 8, "21.0.5" -> 21
        case $v in ''|*[!0-9]*) return 1 ;; esac
        JAVA_MAJOR=$v
        return 0 ;;
    esac
  done < "$1/release"
  return 1
}

java_release_major() { # HOME -> prints its major version (0 when unknown)
  java_major_of "$1"
  echo "$JAVA_MAJOR"
}

# find_java [--jdk] [HOME...]: sets JAVA (a java binary), JAVA_FOUND_HOME and JAVA_MAJOR to the
# first Java >= 21 among: the HOMEs given (a launcher's bundled runtime), $JAVA_HOME, the newest
# under $PGSIDECAR_JVM_DIR (default /usr/lib/jvm), then java on PATH (last: resolving its home
# forks readlink). --jdk: a JDK is needed (javac too), as the build scripts do. Without one it
# says on stderr, in one line prefixed with $FIND_JAVA_PREFIX (default "error"), what it found
# where and what to install, and returns 1.
find_java() {
  local tool=java kind=Java package=jre c best="" best_major=0 seen="" onpath=""
  if [ "${1:-}" = --jdk ]; then tool=javac; kind=JDK; package=jdk; shift; fi
  for c in "$@" "${JAVA_HOME:-}"; do
    [ -n "$c" ] || continue
    if [ -x "$c/bin/$tool" ] && java_major_of "$c" && [ "$JAVA_MAJOR" -ge "$JAVA_MIN_MAJOR" ]; then
      JAVA=$c/bin/java; JAVA_FOUND_HOME=$c
      return 0
    fi
    if [ "$c" = "${JAVA_HOME:-}" ]; then seen+="JAVA_HOME=$c "
    elif [ -e "$c" ]; then seen+="$c "
    else continue; fi # a launcher's bundled runtime that is not installed
    if [ ! -x "$c/bin/$tool" ]; then seen+="has no bin/$tool; "
    elif [ "$JAVA_MAJOR" = 0 ]; then seen+="has no readable release file; "
    else seen+="is $kind $JAVA_MAJOR; "; fi
  done
  for c in "${PGSIDECAR_JVM_DIR:-/usr/lib/jvm}"/*; do
    [ -x "$c/bin/$tool" ] && java_major_of "$c" || continue
    if [ "$JAVA_MAJOR" -gt "$best_major" ]; then best=$c; best_major=$JAVA_MAJOR; fi
  done
  if [ "$best_major" -ge "$JAVA_MIN_MAJOR" ]; then
    JAVA=$best/bin/java; JAVA_FOUND_HOME=$best; JAVA_MAJOR=$best_major
    return 0
  fi
  if [ -n "$best" ]; then seen+="${PGSIDECAR_JVM_DIR:-/usr/lib/jvm} holds $kind $best_major at most; "
  else seen+="${PGSIDECAR_JVM_DIR:-/usr/lib/jvm} holds none; "; fi
  if onpath=$(command -v "$tool" 2>/dev/null) && [ -n "$onpath" ]; then
    c=$(readlink -f "$onpath" 2>/dev/null) || c=$onpath
    c=${c%/bin/$tool}
    if [ -x "$c/bin/java" ] && java_major_of "$c" && [ "$JAVA_MAJOR" -ge "$JAVA_MIN_MAJOR" ]; then
      JAVA=$c/bin/java; JAVA_FOUND_HOME=$c
      return 0
    fi
    seen+="$tool on PATH is $onpath, $kind $JAVA_MAJOR"
  else
    seen+="no $tool on PATH"
  fi
  echo "${FIND_JAVA_PREFIX:-error}: no $kind >= $JAVA_MIN_MAJOR found: $seen. Install one (e.g." \
    "apt-get install openjdk-$JAVA_MIN_MAJOR-$package-headless, or Temurin $JAVA_MIN_MAJOR+) and set" \
    "JAVA_HOME to it" >&2
  return 1
}

launch_root() { # sets LAUNCH_ROOT, the checkout or installation above bin/
  [ -n "${LAUNCH_ROOT:-}" ] || LAUNCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
}

find_jar() { # MODULE ARTIFACT -> sets JAR to the newest MODULE/target/ARTIFACT-*.jar
  local module="$1" artifact="$2" j
  JAR=""
  launch_root
  for j in $(ls -t "$LAUNCH_ROOT/$module/target/$artifact"-*.jar 2>/dev/null); do
    case "$j" in *-tests.jar|*-sources.jar|*-javadoc.jar) continue ;; esac
    JAR="$j"
    return 0
  done
  echo "error: $module/target/$artifact-*.jar not found in $LAUNCH_ROOT: run ./mvnw -DskipTests package first." >&2
  return 1
}

# class_data_cache ARTIFACT TRAINING_CLASS [JVM flags...]: after find_java and find_jar, sets
# CACHE_FLAGS to the JVM options that use $JAR's class-data archive, when there is one: a JDK 25+
# AOT cache (-XX:AOTCache), else (JDK 21-24) a dynamic CDS archive. With CACHE_PREPARE=1 it first
# makes the archive from a training run of TRAINING_CLASS (same jar, same flags) and says where.
# The archive sits beside the jar and is named after the JDK major and a checksum of the names,
# sizes and mtimes of the jar and of every jar in its lib/: a rebuilt jar or a changed lib/ looks
# for another name, so a stale archive is never used (the JVM checks the class path too; a
# mismatch is silent with the logging turned off below). Archives of earlier builds are removed
# when a new one is made. No archive, or one the JVM refuses: the program starts without it.
class_data_cache() {
  local artifact="$1" training="$2"
  shift 2
  local major dir sum kind archive tmp log make
  CACHE_FLAGS=()
  major=$JAVA_MAJOR
  dir="$(dirname "$JAR")"
  sum="$(stat -c '%n %s %Y' "$JAR" "$dir"/lib/*.jar 2>/dev/null | cksum)" || return 0
  sum="${sum%% *}"
  if [ "$major" -ge 25 ]; then kind=aot; else kind=jsa; fi
  archive="$dir/$artifact.jdk$major-$sum.$kind"
  if [ "${CACHE_PREPARE:-0}" = 1 ]; then
    if [ "$major" -lt 21 ] || [ ! -w "$dir" ]; then
      echo "error: cannot make a class-data archive in $dir (not writable, or Java $major < 21)." >&2
      return 1
    fi
    tmp="$archive.tmp.$$"
    log="$archive.log.$$"
    if [ "$kind" = aot ]; then make=(-XX:AOTCacheOutput="$tmp"); else make=(-XX:ArchiveClassesAtExit="$tmp"); fi
    if "$JAVA" "$@" "${make[@]}" -cp "$JAR" "$training" </dev/null >"$log" 2>&1 && [ -s "$tmp" ]; then
      mv -f "$tmp" "$archive"
      rm -f "$log" "$tmp.config"
      for old in "$dir/$artifact".jdk*.aot "$dir/$artifact".jdk*.jsa; do
        [ "$old" = "$archive" ] || rm -f "$old"
      done
      echo "class-data archive ready: $archive"
    else
      echo "error: the training run for the class-data archive failed (the program still works, only slower to start):" >&2
      grep -v '^\[' "$log" | tail -n 20 >&2
      rm -f "$log" "$tmp" "$tmp.config"
      return 1
    fi
  fi
  if [ -f "$archive" ]; then
    if [ "$kind" = aot ]; then
      CACHE_FLAGS=(-XX:AOTCache="$archive" -Xlog:aot=off -Xlog:cds=off)
    else
      CACHE_FLAGS=(-XX:SharedArchiveFile="$archive" -Xlog:cds=off)
    fi
  fi
}

# launch MODULE ARTIFACT [JVM flags...] -- [program args...]: exec the jar (its manifest
# Class-Path points at target/lib/). $PGSIDECAR_JAVA_OPTS adds JVM flags. With LAUNCH_TRAINING
# set (a class in the jar), the jar's class-data archive is used when present, and the program
# argument `prepare-cache` makes it instead of running the program (class_data_cache above).
launch() {
  local module="$1" artifact="$2"
  shift 2
  local flags=(--enable-native-access=ALL-UNNAMED) asked=() f major
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do asked+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  find_java || exit 2
  # "jdkNN+:FLAG" is FLAG on Java NN or later only (older JVMs refuse flags they do not know)
  major=$JAVA_MAJOR
  for f in ${asked[@]+"${asked[@]}"}; do
    if [[ $f =~ ^jdk([0-9]+)\+:(.*)$ ]]; then
      [ "$major" -ge "${BASH_REMATCH[1]}" ] && flags+=("${BASH_REMATCH[2]}")
    else
      flags+=("$f")
    fi
  done
  find_jar "$module" "$artifact" || exit 2
  CACHE_FLAGS=()
  if [ -n "${LAUNCH_TRAINING:-}" ] && [ "${1:-}" = prepare-cache ] && [ "${PGSIDECAR_CDS:-on}" = off ]; then
    echo "error: PGSIDECAR_CDS=off: no class-data archive to prepare." >&2
    exit 1
  fi
  if [ -n "${LAUNCH_TRAINING:-}" ] && [ "${PGSIDECAR_CDS:-on}" != off ]; then
    if [ "${1:-}" = prepare-cache ]; then
      CACHE_PREPARE=1 class_data_cache "$artifact" "$LAUNCH_TRAINING" "${flags[@]}" || exit 1
      exit 0
    fi
    class_data_cache "$artifact" "$LAUNCH_TRAINING" "${flags[@]}"
  fi
  # the launcher's own switches: the program refuses PGSIDECAR_* variables it does not know
  unset PGSIDECAR_CDS PGSIDECAR_JVM_DIR
  # shellcheck disable=SC2086 # PGSIDECAR_JAVA_OPTS is a list of flags, split on purpose
  exec "$JAVA" "${flags[@]}" "${CACHE_FLAGS[@]}" ${PGSIDECAR_JAVA_OPTS:-} -jar "$JAR" "$@"
}
