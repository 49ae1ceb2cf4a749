package dev.hourglass.convert;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.model.ModelConfig;

/**
 * The normalisation (mean and std per channel) of a conversion: where the checkpoint does not give it, how a layout
 * says so in the configuration's {@code inferred} notes; the user's {@code --mean}/{@code --std} put in its place; and
 * the refusal of the one default that is too often wrong, timm's.
 *
 * <p>timm's ViTs are normalised two ways: mean = std = 0.5 (the augreg weights, which most default tags name, and the
 * original ViT weights) and ImageNet's mean and std (DeiT, DINO). A timm file without a {@code pretrained_cfg} giving
 * them cannot tell which, and either guess shifts every prediction, so the conversion is refused until they are given.
 * Where the family settles it, it is not a guess: DeiT's and CF-ViT's training code always normalises with ImageNet's
 * (a DeiT is recognised by its distillation token, or by the {@code {'model': state_dict}} {@code .pth} that
 * facebookresearch/deit saves and the code built on it keeps; timm's own training saves {@code 'state_dict'} and its
 * released {@code .pth} files are bare state dicts).
 */
final class Normalisation {
    /** A timm layout's note when it fell back to ImageNet's mean and std: refused unless given. */
    static final String TIMM_GUESS = Guesses.PREFIX + "normalisation ImageNet mean/std (timm's default; no"
            + " pretrained_cfg says)";

    /** The note for the user's values, and the checkpoint's they replaced (where it gave others). */
    private static final Pattern GIVEN = Pattern.compile(
            "normalisation mean (\\S+) std (\\S+) given \\(--mean, --std\\)(?:, in place of the checkpoint's (.+))?");

    private Normalisation() {
    }

    /** The note of a layout whose family always normalises with ImageNet's mean and std; {@code why} says. */
    static String imagenetByFamily(String why) {
        return "normalisation ImageNet mean/std, as " + why;
    }

    /** Whether a {@code pretrained_cfg}-style object gives both mean and std (JSON null is timm's "default"). */
    static boolean gives(ObjectNode preprocessing) {
        return present(preprocessing, "mean") && present(preprocessing, "std");
    }

    /** Puts ImageNet's mean and std where {@code preprocessing} has none (a value it has is kept). */
    static void fillImagenet(ObjectNode preprocessing) {
        if (!present(preprocessing, "mean")) {
            put(preprocessing, "mean", Layout.IMAGENET_MEAN);
        }
        if (!present(preprocessing, "std")) {
            put(preprocessing, "std", Layout.IMAGENET_STD);
        }
    }

    private static boolean present(ObjectNode p, String key) {
        JsonNode n = p.get(key);
        return n != null && !n.isNull();
    }

    private static void put(ObjectNode p, String key, double[] values) {
        ArrayNode a = p.putArray(key);
        for (double v : values) {
            a.add(v);
        }
    }

    /**
     * The conversion with the user's mean and std in its preprocessing, if {@code options} gives them: the notes about
     * the normalisation it replaces (a guess, the family's, an earlier {@code --mean}) give way to one that says they
     * were given and, where the checkpoint gave other values, which.
     */
    static Conversion given(Conversion conv, ConvertOptions options) {
        if (!options.normalisationGiven() || conv.config() == null) {
            return conv;
        }
        ModelConfig config = conv.config();
        ObjectNode preprocessing = config.preprocessing();
        boolean guessed = false;
        List<String> notes = new ArrayList<>();
        for (String note : config.inferred()) {
            if (note.startsWith(Guesses.PREFIX + "normalisation")) {
                guessed = true;
            } else if (!note.startsWith("normalisation ")) {
                notes.add(note);
            }
        }
        String before = "mean " + text(preprocessing.get("mean")) + " std " + text(preprocessing.get("std"));
        String after = "mean " + text(options.mean()) + " std " + text(options.std());
        String note = "normalisation " + after + " given (--mean, --std)";
        if (!guessed && gives(preprocessing) && !before.equals(after)) {
            note += ", in place of the checkpoint's " + before;
        }
        notes.add(note);
        put(preprocessing, "mean", options.mean().stream().mapToDouble(Double::doubleValue).toArray());
        put(preprocessing, "std", options.std().stream().mapToDouble(Double::doubleValue).toArray());
        ModelConfig withGiven = new ModelConfig(config.family(), config.encoder(), preprocessing, config.labels(),
                config.decoder(), config.source(), notes);
        return new Conversion(conv.layout(), withGiven, conv.plan(), conv.shapes(), conv.problems());
    }

    /** {@code R,G,B} as the options are typed; anything else as its JSON. */
    private static String text(JsonNode values) {
        if (values == null || !values.isArray() || values.size() != 3) {
            return String.valueOf(values);
        }
        List<Double> out = new ArrayList<>();
        for (JsonNode v : values) {
            if (!v.isNumber()) {
                return values.toString();
            }
            out.add(v.doubleValue());
        }
        return text(out);
    }

    private static String text(List<Double> values) {
        return String.join(",", values.stream().map(String::valueOf).toList());
    }

    /**
     * The checkpoint's normalisation that the user's replaced ({@code "mean 0.485,0.456,0.406 std ..."}), found in a
     * configuration's inferred notes; empty if none was replaced (none given, or the same values, or a guess).
     */
    static Optional<String> replaced(List<String> inferred) {
        for (String note : inferred) {
            Matcher m = GIVEN.matcher(note);
            if (m.matches() && m.group(3) != null) {
                return Optional.of(m.group(3));
            }
        }
        return Optional.empty();
    }

    /**
     * The refusal of timm's default normalisation, or null: only a timm conversion that fell back to it is refused
     * (a converted Hourglass file keeps what it was converted with; older files carrying the guess are reported).
     */
    static String missing(Checkpoint c, Conversion conv) {
        if (conv.config() == null || conv.layout().equals("hourglass")
                || !conv.config().inferred().contains(TIMM_GUESS)) {
            return null;
        }
        return c.fileName() + ": " + conv.layout() + " checkpoint " + (c.config().isPresent()
                ? "whose config.json gives no mean and std (pretrained_cfg)" : "without config.json") + ": its"
                + " normalisation cannot be read from the weights; timm's ViTs use mean/std 0.5 (augreg and the"
                + " original ViT weights, the default tags) or ImageNet's 0.485,0.456,0.406 / 0.229,0.224,0.225 (DeiT,"
                + " DINO);"
                + " give --mean and --std, e.g. --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5";
    }
}
