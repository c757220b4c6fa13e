# Shared by the scripts: find a JDK >= 21, and where the repo keeps downloaded tools.
# Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"

# The one Java finder of the project (find_java, java_release_major) is the launchers' library.
# shellcheck source=../bin/lib/launch.sh
source "$ROOT/bin/lib/launch.sh"

find_jdk() { # sets and exports JAVA_HOME (and PATH) to a JDK >= 21, or fails with what to install
  find_java --jdk || return 1
  export JAVA_HOME="$JAVA_FOUND_HOME"
  export PATH="$JAVA_HOME/bin:$PATH"
}
