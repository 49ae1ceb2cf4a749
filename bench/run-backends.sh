#!/usr/bin/env bash
# Compares the backends in one JMH run (dev.hourglass.bench.jmh.BackendComparison): ViT-B/16's fc1 GEMM, its
# attention and a whole ViT-B/16 forward through the Backend interface, on the CPU backend with the scalar kernels,
# with the Vector API kernels, and on TornadoVM when TORNADOVM_HOME names a TornadoVM SDK (see
# tornado-kernels/README.md). Prints one table; JMH's JSON goes to bench-out/jmh-backends-*.json and the console to
# bench-out/jmh-backends.log.
#
# Usage: bench/run-backends.sh [--quick] [--threads N]
#   --quick      1 warm-up and 2 measured iterations of 1 s (a check that everything runs; numbers rough)
#   --threads N  CPU backend threads (default 2)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. bin/lib/java25.sh
hourglass_find_java
case "${1:-}" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
esac

export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
cp="bench/target/benchmarks.jar"
if [ -n "${TORNADOVM_HOME:-}" ]; then
    # The root pom's tornado profile (active with TORNADOVM_HOME) builds the TornadoVM backend as well.
    mvn -q -B -ntp -pl bench,tornado-kernels -am -DskipTests package
    tornado_jar=$(ls tornado-kernels/target/hourglass-tornado-kernels-*.jar 2>/dev/null \
        | grep -v -e '-sources' -e '-tests' | head -n 1 || true)
    if [ -z "$tornado_jar" ]; then
        echo "run-backends.sh: the build did not produce the tornado-kernels jar" >&2
        exit 1
    fi
    cp="$cp:$tornado_jar"
else
    mvn -q -B -ntp -pl bench -am -DskipTests package
fi
mkdir -p bench-out
echo "before $(date -Is) $(cat /proc/loadavg)" > bench-out/jmh-backends.load
java --sun-misc-unsafe-memory-access=allow -cp "$cp" dev.hourglass.bench.jmh.BackendComparison "$@" 2>&1 \
    | tee bench-out/jmh-backends.log
echo "after  $(date -Is) $(cat /proc/loadavg)" >> bench-out/jmh-backends.load
