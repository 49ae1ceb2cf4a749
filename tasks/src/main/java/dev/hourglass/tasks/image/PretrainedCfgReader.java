package dev.hourglass.tasks.image;

import com.fasterxml.jackson.databind.JsonNode;

/** Reads the preprocessing keys of a timm {@code pretrained_cfg} JSON object into an {@link EvalPreprocessing}. */
final class PretrainedCfgReader {

    private PretrainedCfgReader() {
    }

    static EvalPreprocessing read(JsonNode cfg) {
        if (cfg == null || !cfg.isObject()) {
            throw new IllegalArgumentException("pretrained_cfg must be a JSON object, got "
                    + (cfg == null ? "nothing" : cfg.toString()));
        }
        int[] inputSize = inputSize(cfg);
        double cropPct = cropPct(cfg);
        Filter interpolation = interpolation(cfg);
        EvalPreprocessing.CropMode cropMode = cropMode(cfg);
        float[] mean = channels(cfg, "mean", EvalPreprocessing.imagenetDefaultMean());
        float[] std = channels(cfg, "std", EvalPreprocessing.imagenetDefaultStd());
        try {
            return new EvalPreprocessing(inputSize[1], inputSize[2], cropPct, interpolation, mean, std, cropMode);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("pretrained_cfg: " + e.getMessage(), e);
        }
    }

    private static int[] inputSize(JsonNode cfg) {
        JsonNode node = present(cfg, "input_size");
        if (node == null) {
            throw new IllegalArgumentException("pretrained_cfg: input_size is missing; expected [3, height, width]");
        }
        boolean wellFormed = node.isArray() && node.size() == 3;
        int[] size = new int[3];
        for (int i = 0; wellFormed && i < 3; i++) {
            JsonNode v = node.get(i);
            wellFormed = v.isIntegralNumber() && v.canConvertToInt() && v.intValue() > 0;
            size[i] = wellFormed ? v.intValue() : 0;
        }
        if (!wellFormed) {
            throw invalid("input_size", node, "expected [3, height, width] with positive integers");
        }
        if (size[0] != 3) {
            throw invalid("input_size", node, "only 3-channel (RGB) inputs are supported");
        }
        return size;
    }

    private static double cropPct(JsonNode cfg) {
        JsonNode node = present(cfg, "crop_pct");
        if (node == null) {
            return EvalPreprocessing.DEFAULT_CROP_PCT;
        }
        if (!node.isNumber() || !(node.doubleValue() > 0) || Double.isInfinite(node.doubleValue())) {
            throw invalid("crop_pct", node, "expected a positive number such as 0.875");
        }
        return node.doubleValue();
    }

    private static Filter interpolation(JsonNode cfg) {
        JsonNode node = present(cfg, "interpolation");
        if (node == null) {
            return Filter.BICUBIC;
        }
        if (!node.isTextual()) {
            throw invalid("interpolation", node, "expected 'bicubic' or 'bilinear'");
        }
        try {
            return Filter.fromTimmName(node.textValue());
        } catch (IllegalArgumentException e) {
            throw invalid("interpolation", node, "expected 'bicubic' or 'bilinear'");
        }
    }

    private static EvalPreprocessing.CropMode cropMode(JsonNode cfg) {
        JsonNode node = present(cfg, "crop_mode");
        if (node == null) {
            return EvalPreprocessing.CropMode.CENTER;
        }
        if (node.isTextual() && node.textValue().equals("center")) {
            return EvalPreprocessing.CropMode.CENTER;
        }
        if (node.isTextual() && node.textValue().equals("squash")) {
            return EvalPreprocessing.CropMode.SQUASH;
        }
        throw invalid("crop_mode", node, "only 'center' and 'squash' are supported");
    }

    private static float[] channels(JsonNode cfg, String key, float[] absent) {
        JsonNode node = present(cfg, key);
        if (node == null) {
            return absent;
        }
        boolean wellFormed = node.isArray() && node.size() == 3;
        float[] values = new float[3];
        for (int i = 0; wellFormed && i < 3; i++) {
            wellFormed = node.get(i).isNumber();
            // torchvision's Normalize turns the Python floats into a float32 tensor: round the double to float.
            values[i] = wellFormed ? (float) node.get(i).doubleValue() : 0f;
        }
        if (!wellFormed) {
            throw invalid(key, node, "expected 3 numbers (R, G, B)");
        }
        return values;
    }

    /** The value of {@code key}, or null when it is absent or JSON null (timm treats both as "use the default"). */
    private static JsonNode present(JsonNode cfg, String key) {
        JsonNode node = cfg.get(key);
        return node == null || node.isNull() ? null : node;
    }

    private static IllegalArgumentException invalid(String key, JsonNode value, String expected) {
        return new IllegalArgumentException("pretrained_cfg: unsupported " + key + " " + value + ": " + expected);
    }
}
