#!/usr/bin/env bash
# CF-ViT's threshold sweep on the shipped demo model (dev.hourglass.bench.CfVitSweep), in one command: top-1 accuracy,
# share of early exits and average GFLOPs per image of the demo CF-ViT (shapes-cfvit) over held-out images at
# thresholds 0, 0.1, ..., 0.9, 0.95, 0.99, 1 and 1.01 (always fine), beside the plain fine model (same weights, no
# coarse stage) and the separately trained demo ViT (shapes-vit); then latency per image at batch 1 and 64 for
# thresholds 0, 0.5, 0.8, always fine and the plain models, timed in alternating blocks; the paper's headline quoted
# beside the table. Builds bench/target/benchmarks.jar first if it is missing or older than the sources, and writes
# the validation images with tools/train_demo_classifier.py --export-val if their folder is missing.
#
# Usage: bench/run-cfvit.sh [CfVitSweep options]
#   e.g. --no-latency                   only the accuracy sweep (about a minute)
#        --threads 1,2                  latency at 1 and 2 threads (default 1)
#        --latency-batch 1              batch 1 only (default 1,64)
#        --iterations 40 --blocks 20    timed calls per setting and blocks (defaults; one call = 64 images)
#        --count 500                    fewer images
#        --thresholds 0,0.5,1.01        other thresholds
#        --wait-idle 300                wait (at most that long) for other processes to leave the machine alone
# Writes bench-out/cfvit-sweep.md (also printed), bench-out/cfvit-sweep.json and docs/cfvit-threshold-sweep.png.
# Environment: VAL_DIR (default bench-out/shapes-vit-val) and VAL_COUNT (1000): where and how many validation images
# to export; PYTHON (/usr/bin/python3); REBUILD=1 rebuilds the jar; CFVIT_JAVA_OPTS replaces the heap options below.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
case "${1:-}" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
esac
. bin/lib/java25.sh
hourglass_find_java
. bench/lib/jar.sh
hourglass_bench_jar run-cfvit.sh

val=${VAL_DIR:-bench-out/shapes-vit-val}
if [ ! -f "$val/labels.tsv" ]; then
    echo "run-cfvit.sh: exporting ${VAL_COUNT:-1000} validation images to $val" >&2
    "${PYTHON:-/usr/bin/python3}" tools/train_demo_classifier.py --export-val "$val" --count "${VAL_COUNT:-1000}" >&2
fi

opts=${CFVIT_JAVA_OPTS:--Xms1g -Xmx2g}
# Run from a private copy of the jar: on a shared machine the jar may be rebuilt during the run, and a JVM whose jar
# is replaced under it fails to load its remaining classes.
jar=$(mktemp "${TMPDIR:-/tmp}/cfvit-benchmarks-XXXXXX.jar")
trap 'rm -f "$jar"' EXIT
cp bench/target/benchmarks.jar "$jar"
# shellcheck disable=SC2086
java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    --sun-misc-unsafe-memory-access=allow -Djava.awt.headless=true $opts \
    "-Dhourglass.bench.command=bench/run-cfvit.sh${*:+ $*}" \
    -cp "$jar" dev.hourglass.bench.CfVitSweep --data "$val" "$@"
