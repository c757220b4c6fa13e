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

# launch MODULE ARTIFACT [JVM flags...] -- [program args...]: exec the jar (its manifest
# Class-Path points at target/lib/). $PGSIDECAR_JAVA_OPTS adds JVM flags.
launch() {
  local module="$1" artifact="$2"
  shift 2
  local flags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  find_java || exit 2
  find_jar "$module" "$artifact" || exit 2
  # shellcheck disable=SC2086 # PGSIDECAR_JAVA_OPTS is a list of flags, split on purpose
  exec "$JAVA" --enable-native-access=ALL-UNNAMED "${flags[@]}" ${PGSIDECAR_JAVA_OPTS:-} -jar "$JAR" "$@"
}
