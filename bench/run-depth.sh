#!/usr/bin/env bash
# Runs the DPT depth harness, building bench/target/benchmarks.jar first if it is missing or older than the sources.
#
# Usage: bench/run-depth.sh speed [DptSpeed options]   (DPT-Large / DPT-Hybrid, plain vs Expedit, random weights)
# See bench/README.md for the options. Environment: REBUILD=1 rebuilds the jar even if it looks up to date;
# DEPTH_JAVA_OPTS replaces the JVM options below (heap and collector).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. bin/lib/java25.sh
hourglass_find_java

what=${1:-}
[ $# -gt 0 ] && shift
case "$what" in
    speed) main=dev.hourglass.bench.DptSpeed ;;
    -h|--help|"") awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run-depth.sh: unknown harness '$what' (speed)" >&2; exit 2 ;;
esac

jar=bench/target/benchmarks.jar
. bench/lib/jar.sh
hourglass_bench_jar run-depth.sh
mkdir -p bench-out

# DPT-Large's weights are 1.3 GB of F32, prepared once per thread count; the neck's feature maps at 384x384 (the head
# works at full resolution) take a few hundred MB per call.
opts=${DEPTH_JAVA_OPTS:--Xms2g -Xmx8g}
# shellcheck disable=SC2086
exec java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    --sun-misc-unsafe-memory-access=allow $opts -cp "$jar" "$main" "$@"
