package dev.hourglass.convert.yaml;

import java.io.IOException;

/**
 * A YAML file that {@link YamlReader} cannot read: too large, not UTF-8, not YAML, beyond a limit, or asking for
 * something the reader does not build (a tag other than {@code !!python/tuple}, a timestamp, a key that is not a
 * string). The message is one line: the file's name and, where the problem is on a line, its 1-based number, then
 * what is wrong, for example {@code variant.yml: line 12: duplicate key "n_cls"}.
 */
public final class YamlException extends IOException {
    private final String source;
    private final int line;

    /** A problem on 1-based line {@code line} of {@code source}. */
    public YamlException(String source, int line, String problem) {
        super(source + ": line " + line + ": " + problem);
        this.source = source;
        this.line = line;
    }

    /** A problem with the file as a whole (its size, for one); {@link #line()} is 0. */
    public YamlException(String source, String problem) {
        super(source + ": " + problem);
        this.source = source;
        this.line = 0;
    }

    /** The file (or name) given to the reader. */
    public String source() {
        return source;
    }

    /** The 1-based line the problem was found on, or 0 for problems with the whole file. */
    public int line() {
        return line;
    }
}
