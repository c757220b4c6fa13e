#!/usr/bin/env bash
# The Helm chart without a helm binary (helm-java: Helm as a native library, offline).
#   ./scripts/chart.sh template [--set key=value]... [--values FILE]... [--name RELEASE] [--namespace NS]
#                                 prints the rendered manifests (release name db1 by default)
#   ./scripts/chart.sh lint       helm lint --strict of charts/pgsidecar
#   ./scripts/chart.sh sync       copies dashboards/alerts.yml and dashboards/pgsidecar.json (the one
#                                 source) into charts/pgsidecar/files/; ChartFilesTest fails when stale
# Users with helm run `helm install RELEASE charts/pgsidecar` instead.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

cmd=${1:-}
case $cmd in
  sync)
    cp dashboards/alerts.yml dashboards/pgsidecar.json charts/pgsidecar/files/
    echo "copied dashboards/alerts.yml and dashboards/pgsidecar.json into charts/pgsidecar/files/"
    exit 0 ;;
  template|lint) ;;
  *) echo "usage: $0 template [--set key=value]... [--values FILE]... | lint | sync" >&2; exit 2 ;;
esac

find_jdk

# helm-java's jars: resolved once by Maven (the version is the charts module's), then cached.
version=$(sed -n 's:.*<helm-java.version>\(.*\)</helm-java.version>.*:\1:p' charts/pom.xml)
tool="$CACHE/chart-tool/helm-java-$version"
cp_file="$tool/classpath.txt"
if [ ! -s "$cp_file" ] || ! tr ':' '\n' < "$cp_file" | while read -r jar; do [ -f "$jar" ] || exit 1; done; then
  mkdir -p "$tool"
  cat > "$tool/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.pgsidecar</groupId>
  <artifactId>chart-tool</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>com.marcnuri.helm-java</groupId>
      <artifactId>helm-java</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
  echo "resolving helm-java $version (once, into $cp_file)" >&2
  if ! ./mvnw -B -q -ntp -f "$tool/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" \
      > "$tool/resolve.log" 2>&1; then
    cat "$tool/resolve.log" >&2
    echo "error: could not resolve helm-java $version with Maven (log above)" >&2
    exit 1
  fi
fi

# The JDK's source launcher compiles the one-file tool in memory (about a second).
exec java --enable-native-access=ALL-UNNAMED -cp "$(cat "$cp_file")" \
  charts/src/main/java/io/pgsidecar/charts/ChartTool.java "$@"
