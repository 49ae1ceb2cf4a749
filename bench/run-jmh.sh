#!/usr/bin/env bash
# Runs the JMH kernel benchmarks (bench/src/main/java/dev/hourglass/bench/jmh), building the jar first if it is
# missing or older than the sources. Writes bench-out/jmh-<name>.json (JMH's JSON), .log (the console) and .load
# (load averages sampled during the run), then prints a summary with GFLOP/s.
#
# Usage: bench/run-jmh.sh [SUBSET] [JMH ARGUMENTS...]
#   SUBSET    linear | attention | rowops | vit | all (default: all) | smoke (everything once, very short: checks
#             that every benchmark's @Setup passes, numbers meaningless)
#   the rest  passed to JMH as given, after the subset's own arguments, e.g.
#               -p threads=1          one thread count only
#               -p layer=fc1,fc2      some linear layers only
#               -f 1 -wi 3 -i 3       fewer forks and iterations, for development
#               -e Scalar             exclude by regex: only the Vector API half (-e Panama: only the scalar one)
#               (a further positional regex would ADD benchmarks: JMH runs what matches any of them)
#               -prof gc              allocation per call
# Environment: OUT_NAME=name   write bench-out/jmh-<name>.* instead of jmh-<subset>.* (to keep several runs)
#              REBUILD=1       rebuild the jar even if it looks up to date
#
# The machine should be otherwise idle: the summary prints the load average before and during the run (the
# benchmark's own threads add about 1 per thread to it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. bin/lib/java25.sh
hourglass_find_java

subset=${1:-all}
[ $# -gt 0 ] && shift
# Each subset: its regex, and default options that the caller's own (e.g. -f 1) replace.
case "$subset" in
    linear)    regex='dev\.hourglass\.bench\.jmh\.LinearBenchmark'; defaults=() ;;
    attention) regex='dev\.hourglass\.bench\.jmh\.AttentionBenchmark'; defaults=() ;;
    rowops)    regex='dev\.hourglass\.bench\.jmh\.RowOpsBenchmark'; defaults=() ;;
    vit)       regex='dev\.hourglass\.bench\.jmh\.VitForwardBenchmark'; defaults=() ;;
    all)       regex='dev\.hourglass\.bench\.jmh\.'; defaults=() ;;
    smoke)     regex='dev\.hourglass\.bench\.jmh\.'; defaults=(-f 1 -wi 1 -w 1s -i 1 -r 1s) ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run-jmh.sh: unknown subset '$subset' (linear, attention, rowops, vit, all, smoke)" >&2; exit 2 ;;
esac
name=${OUT_NAME:-$subset}
json=bench-out/jmh-$name.json
log=bench-out/jmh-$name.log
load=bench-out/jmh-$name.load

# JMH refuses an option given twice, so a default goes in only when the caller did not give that option.
given() {
    local opt=$1 a
    for a in "${user_args[@]}"; do
        [ "$a" = "$opt" ] && return 0
    done
    return 1
}
user_args=("$@")
args=("$regex")
# A benchmark whose @Setup check fails (wrong kernels in the fork, wrong results) stops the run with an error.
defaults+=(-foe true -rf json -rff "$json")
for ((i = 0; i < ${#defaults[@]}; i += 2)); do
    given "${defaults[i]}" || args+=("${defaults[i]}" "${defaults[i + 1]}")
done

jar=bench/target/benchmarks.jar
. bench/lib/jar.sh
hourglass_bench_jar run-jmh.sh

mkdir -p bench-out
rm -f "$json"

# Sample the load average every 10 s while JMH runs: numbers taken on a busy machine are not worth much.
{ echo "before $(date -Is) $(cat /proc/loadavg)"; } > "$load"
( while sleep 10; do echo "during $(date -Is) $(cat /proc/loadavg)"; done ) >> "$load" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT

status=0
java --sun-misc-unsafe-memory-access=allow -jar "$jar" "${args[@]}" "$@" 2>&1 \
    | tee "$log" || status=$?
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
echo "after  $(date -Is) $(cat /proc/loadavg)" >> "$load"

echo
echo "== $json"
if given -rff; then
    echo "(results went to the -rff file given on the command line)"
elif [ -s "$json" ]; then
    java -cp "$jar" dev.hourglass.bench.jmh.JmhSummary "$json"
fi
awk '$1 == "before" { before = $3 } $1 == "during" && $3 > max { max = $3 } $1 == "after" { after = $3 }
     END { printf "load average (1 min): before %s, max during %s, after %s\n", before, (max == "" ? "n/a" : max), after }' "$load"
exit "$status"
