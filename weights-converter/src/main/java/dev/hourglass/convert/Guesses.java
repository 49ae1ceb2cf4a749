package dev.hourglass.convert;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The settings of a conversion that were guessed rather than read from the checkpoint, found in its configuration's
 * {@code inferred} notes (so that a model file converted from a guess still says so): the number of heads taken as
 * width / 64, an input size taken from a square position embedding, and notes that a layout marks with
 * {@link #PREFIX} (default preprocessing: normalisation, resize, crop).
 */
final class Guesses {
    /** How a layout marks a note about a guessed setting. */
    static final String PREFIX = "guessed: ";

    /** The engine's (and CF-ViT's) note when the head count is width / 64 because nothing says. */
    private static final Pattern HEADS = Pattern.compile("num_heads = (\\d+) = width (\\d+) / 64\\b.*");
    /** The engine's note when the input size is the position embedding's square grid times the patch. */
    private static final Pattern SIZE = Pattern.compile("image size (\\d+x\\d+) from the position embedding.*");

    private Guesses() {
    }

    /** The guesses among a configuration's inferred notes, in words, in their order. */
    static List<String> of(List<String> inferred) {
        List<String> out = new ArrayList<>();
        for (String note : inferred) {
            Matcher h = HEADS.matcher(note);
            Matcher s = SIZE.matcher(note);
            if (h.matches()) {
                out.add("heads " + h.group(1) + " (width " + h.group(2) + " / 64)");
            } else if (s.matches()) {
                out.add("input size " + s.group(1) + " (the position embedding's square grid)");
            } else if (note.startsWith(PREFIX)) {
                out.add(note.substring(PREFIX.length()));
            }
        }
        return List.copyOf(out);
    }

    /** The encoder width whose / 64 gave a guessed head count, or -1 if the heads were not guessed. */
    static int headsGuessedFromWidth(List<String> inferred) {
        for (String note : inferred) {
            Matcher h = HEADS.matcher(note);
            if (h.matches()) {
                return Integer.parseInt(h.group(2));
            }
        }
        return -1;
    }

    /** The line that refuses a guessed head count. */
    static String headsMessage(String file, String layout, boolean hasConfig, int width) {
        return file + ": " + layout + " checkpoint " + (hasConfig ? "whose configuration does not give the number"
                + " of attention heads" : "without config.json") + ": the number of attention heads cannot be read"
                + " from the weights (width " + width + " / 64 = " + Math.max(1, width / 64) + " would be a guess);"
                + " give --heads N (ViT-Ti 3, ViT-S 6, ViT-B 12, ViT-L 16)";
    }
}
