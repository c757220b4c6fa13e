#!/usr/bin/env bash
# bench/flame.sh: a flame graph (SVG), the collapsed stacks and a Markdown table of the top
# frames from a JFR recording's sampled stacks (io.pgsidecar.bench.flame.Flame).
#   bench/flame.sh <recording.jfr> <out-prefix> [thread-regex]
#       -> <out-prefix>.svg, <out-prefix>.collapsed, <out-prefix>.md
#   bench/flame.sh --events cpu agent.jfr /tmp/agent         # jdk.CPUTimeSample (JDK 25+)
#   bench/flame.sh --events execution,native agent.jfr /tmp/a 'vert.x-worker'
# --events: execution (jdk.ExecutionSample, the default: threads running Java code), native
# (jdk.NativeMethodSample: threads in native code, running or blocked), cpu (jdk.CPUTimeSample:
# by CPU time, Java and native, so zstd-jni counts; record with
# -XX:StartFlightRecording=...,settings=profile,jdk.CPUTimeSample#enabled=true), or event names.
# The thread regex is found in the thread's name (anchor with ^...$ for a whole name).
# Builds the bench module first when its classes are missing (or BUILD=1). JDK >= 21.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
find_jdk >/dev/null
if [ -n "${BUILD:-}" ] || [ ! -f "$ROOT/bench/target/classes/io/pgsidecar/bench/flame/Flame.class" ]; then
  (cd "$ROOT" && ./mvnw -B -q -pl bench -am package -DskipTests 2>&1 | grep -v '^WARNING' || true)
fi
exec "$JAVA_HOME/bin/java" -cp "$ROOT/bench/target/classes" io.pgsidecar.bench.flame.Flame "$@"
