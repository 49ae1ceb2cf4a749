# Sourced by the bench/run-*.sh scripts from the repository root: builds bench/target/benchmarks.jar when it is
# missing or older than any source it is made from (REBUILD=1 rebuilds it anyway).
#
# Usage: hourglass_bench_jar SCRIPT_NAME
hourglass_bench_jar() {
    local jar=bench/target/benchmarks.jar
    local sources=(engine/src/main weights-converter/src/main tasks/src/main bench/src/main pom.xml engine/pom.xml
                   weights-converter/pom.xml tasks/pom.xml bench/pom.xml)
    if [ "${REBUILD:-0}" = 1 ] || [ ! -f "$jar" ] || [ -n "$(find "${sources[@]}" -newer "$jar" -print -quit)" ]; then
        echo "$1: building $jar" >&2
        MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
            mvn -q -B -ntp -Dstyle.color=never -pl bench -am -DskipTests package
    fi
}
