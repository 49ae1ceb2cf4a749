package dev.hourglass.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The harnesses' command lines: {@code --key value} options and {@code --flag} switches. */
final class Args {
    private final Map<String, String> values;

    private Args(Map<String, String> values) {
        this.values = values;
    }

    /**
     * @param flags  the options that take no value
     * @param known  every option name (flags included); anything else is refused with the list
     */
    static Args parse(String[] args, Set<String> flags, Set<String> known) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            String key = args[i].substring(2);
            if (!known.contains(key)) {
                throw new IllegalArgumentException("unknown option --" + key + "; known: --"
                        + String.join(", --", known));
            }
            if (flags.contains(key)) {
                m.put(key, "true");
            } else if (i + 1 < args.length) {
                m.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException("--" + key + " needs a value");
            }
        }
        return new Args(m);
    }

    boolean has(String key) {
        return values.containsKey(key);
    }

    String get(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    int integer(String key, int fallback) {
        return values.containsKey(key) ? Integer.parseInt(values.get(key).trim()) : fallback;
    }

    /** A comma-separated list of items. */
    List<String> list(String key, String fallback) {
        List<String> out = new ArrayList<>();
        for (String s : get(key, fallback).split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    List<Integer> integers(String key, String fallback) {
        return list(key, fallback).stream().map(Integer::parseInt).toList();
    }

    /** Writes a report, creating the folder. */
    static void write(Path out, String text) throws IOException {
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, text + "\n");
    }
}
