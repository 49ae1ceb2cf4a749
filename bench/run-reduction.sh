#!/usr/bin/env bash
# Token reduction on classification, ToMe against Expedit (dev.hourglass.bench.TokenReductionBench), in one command:
# ViT-B/16 latency unreduced vs ToMe r=8,13,16 at 1 and 2 threads, then top-1 accuracy and agreement of the demo
# classifier over held-out images for ToMe (r=1..8, 10, 12; inflect 0 and -1) and Expedit (alpha 1..3, grids 2x2..7x7),
# a matched-GFLOPs table and a plot. Builds bench/target/benchmarks.jar first if it is missing or older than the
# sources, and writes the validation images with tools/train_demo_classifier.py --export-val if their folder is
# missing.
#
# Usage: bench/run-reduction.sh [TokenReductionBench options]
#   e.g. --no-latency                 only the accuracy sweep (about a minute)
#        --threads 2 --iterations 10  fewer latency runs
#        --count 500                  fewer images
#        --wait-idle 300              wait (at most that long) for other processes to leave the machine alone
# Writes bench-out/token-reduction.md (also printed), bench-out/token-reduction.json and
# docs/token-reduction-accuracy.png. Environment: VAL_DIR (default bench-out/shapes-vit-val) and VAL_COUNT (1000):
# where and how many validation images to export; PYTHON (/usr/bin/python3); REBUILD=1 rebuilds the jar;
# REDUCTION_JAVA_OPTS replaces the heap options below.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
case "${1:-}" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
esac
. bin/lib/java25.sh
hourglass_find_java
. bench/lib/jar.sh
hourglass_bench_jar run-reduction.sh

val=${VAL_DIR:-bench-out/shapes-vit-val}
if [ ! -f "$val/labels.tsv" ]; then
    echo "run-reduction.sh: exporting ${VAL_COUNT:-1000} validation images to $val" >&2
    "${PYTHON:-/usr/bin/python3}" tools/train_demo_classifier.py --export-val "$val" --count "${VAL_COUNT:-1000}" >&2
fi

opts=${REDUCTION_JAVA_OPTS:--Xms1g -Xmx2g}
# shellcheck disable=SC2086
exec java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    --sun-misc-unsafe-memory-access=allow -Djava.awt.headless=true $opts \
    "-Dhourglass.bench.command=bench/run-reduction.sh${*:+ $*}" \
    -cp bench/target/benchmarks.jar dev.hourglass.bench.TokenReductionBench --data "$val" "$@"
