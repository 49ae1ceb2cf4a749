#!/usr/bin/env bash
# Runs the Segmenter harnesses, building bench/target/benchmarks.jar first if it is missing or older than the sources.
#
# Usage: bench/run-segmenter.sh speed     [SegmenterSpeed options]     (Segmenter ViT-L/16, plain vs Expedit)
#        bench/run-segmenter.sh retention [ExpeditRetention options]   (mIoU kept vs speed-up, Expedit grid)
# See bench/README.md for the options. Environment: REBUILD=1 rebuilds the jar even if it looks up to date;
# SEGMENTER_JAVA_OPTS replaces the JVM options below (heap and collector).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. bin/lib/java25.sh
hourglass_find_java

what=${1:-}
[ $# -gt 0 ] && shift
case "$what" in
    speed)     main=dev.hourglass.bench.SegmenterSpeed ;;
    retention) main=dev.hourglass.bench.ExpeditRetention ;;
    -h|--help|"") awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run-segmenter.sh: unknown harness '$what' (speed, retention)" >&2; exit 2 ;;
esac

jar=bench/target/benchmarks.jar
. bench/lib/jar.sh
hourglass_bench_jar run-segmenter.sh
mkdir -p bench-out

# A ViT-L call at 640 with 150 classes allocates about 1 GB of large float arrays (the class planes before and after
# merging and resizing); G1 with a roomy heap takes them without full collections.
opts=${SEGMENTER_JAVA_OPTS:--Xms2g -Xmx8g}
# shellcheck disable=SC2086
exec java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    --sun-misc-unsafe-memory-access=allow $opts -cp "$jar" "$main" "$@"
