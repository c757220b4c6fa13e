# Shared by the scripts: find a JDK >= 21, and where the repo keeps downloaded tools.
# Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"

java_major() { # JAVA binary -> major version number, or 0
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

find_jdk() { # sets JAVA_HOME to a JDK >= 21 or fails with what to install
  local c
  for c in "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/* 2>/dev/null | sort -rV); do
    [ -n "$c" ] && [ -x "$c/bin/javac" ] || continue
    if [ "$(java_major "$c/bin/java")" -ge 21 ] 2>/dev/null; then
      export JAVA_HOME="$c"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "error: no JDK >= 21 found (looked at \$JAVA_HOME and /usr/lib/jvm/*)." >&2
  echo "       install one, e.g. 'apt-get install openjdk-21-jdk-headless' or Temurin 21+, or set JAVA_HOME." >&2
  return 1
}
