# Sourced by bin/hourglass, bin/test and .ci/run: finds a JDK 25 or newer and exports JAVA_HOME and PATH for it.
# Order: $JAVA_HOME, the java on PATH, then the JDKs installed under /usr/lib/jvm and /opt (newest first).

hourglass_java_feature() {  # prints the feature release of the JDK at $1 (e.g. 25), or nothing
    local release="$1/release" v
    [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
    if [ -f "$release" ]; then
        v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$release")
    else
        v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9][0-9]*\).*/\1/p')
    fi
    printf '%s' "$v"
}

hourglass_find_java() {
    local candidates=() c v
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    if command -v java >/dev/null 2>&1; then
        c=$(readlink -f "$(command -v java)")
        candidates+=("${c%/bin/java}")
    fi
    for c in $(ls -d /usr/lib/jvm/*/ /opt/*jdk*/ /opt/java/*/ 2>/dev/null | sort -rV); do
        candidates+=("${c%/}")
    done
    for c in "${candidates[@]}"; do
        v=$(hourglass_java_feature "$c")
        if [ -n "$v" ] && [ "$v" -ge 25 ]; then
            export JAVA_HOME="$c"
            export PATH="$c/bin:$PATH"
            return 0
        fi
    done
    echo "hourglass: no JDK 25 or newer found (looked at JAVA_HOME, the java on PATH, /usr/lib/jvm and /opt)." >&2
    echo "hourglass: install one (for example Temurin 25) and set JAVA_HOME to it." >&2
    return 1
}
