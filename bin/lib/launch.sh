# Shared by the launchers in bin/: find a Java >= 21 and the built jar, then exec it.
# Sourced, not run. Kept cheap: wal-archiver runs once per WAL segment, so the Java version is
# read from the JDK's `release` file instead of starting a JVM to ask it.

LAUNCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

java_release_major() { # JAVA_HOME -> major version from its release file (0 when unknown)
  local v
  v="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release" 2>/dev/null)"
  v="${v#1.}"          # 1.8.0_x -> 8.0_x
  v="${v%%[._+-]*}"
  if [[ "$v" =~ ^[0-9]+$ ]]; then echo "$v"; else echo 0; fi
}

find_java() { # sets JAVA to a java >= 21: $JAVA_HOME, then java on PATH, then /usr/lib/jvm/*
  local c onpath
  onpath="$(command -v java 2>/dev/null || true)"
  [ -n "$onpath" ] && onpath="$(dirname "$(dirname "$(readlink -f "$onpath")")")"
  for c in "${JAVA_HOME:-}" "$onpath" $(ls -d /usr/lib/jvm/* 2>/dev/null | sort -rV); do
    [ -n "$c" ] && [ -x "$c/bin/java" ] || continue
    if [ "$(java_release_major "$c")" -ge 21 ]; then
      JAVA="$c/bin/java"
      return 0
    fi
  done
  echo "error: no Java >= 21 found (looked at \$JAVA_HOME, java on PATH and /usr/lib/jvm/*)." >&2
  echo "       install one, e.g. 'apt-get install openjdk-21-jre-headless' or Temurin 21+, or set JAVA_HOME." >&2
  return 1
}

find_jar() { # MODULE ARTIFACT -> sets JAR to the newest MODULE/target/ARTIFACT-*.jar
  local module="$1" artifact="$2" j
  JAR=""
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
  major="$(java_release_major "$(dirname "$(dirname "$(readlink -f "$JAVA")")")")"
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
  major="$(java_release_major "$(dirname "$(dirname "$(readlink -f "$JAVA")")")")"
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
  # the launcher's own switch: the program refuses PGSIDECAR_* variables it does not know
  unset PGSIDECAR_CDS
  # shellcheck disable=SC2086 # PGSIDECAR_JAVA_OPTS is a list of flags, split on purpose
  exec "$JAVA" "${flags[@]}" "${CACHE_FLAGS[@]}" ${PGSIDECAR_JAVA_OPTS:-} -jar "$JAR" "$@"
}
