package dev.hourglass.model;

import java.io.IOException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The model families an Hourglass model file can hold ({@link ModelConfig#family()}): which heads and decoders its
 * tensors hold beside the ViT encoder, and which {@link DecoderConfig} its {@code decoder} object is.
 *
 * <p>Immutable, so safe to share between threads.
 */
public enum ModelFamily {
    /** A plain ViT classifier (timm's or Hugging Face's); no decoder. */
    VIT("vit"),
    /** DeiT with a distillation token; no decoder. */
    DEIT("deit"),
    /** Segmenter: a ViT encoder and a linear or mask-transformer decoder ({@link SegmenterDecoderConfig}). */
    SEGMENTER("segmenter"),
    /** DPT: reassemble, fusion and a depth or segmentation head over four encoder blocks ({@link DptConfig}). */
    DPT("dpt"),
    /** CF-ViT on DeiT: a coarse and a fine pass of one model ({@code CfVitSettings}). */
    CFVIT("cfvit"),
    /** CF-ViT on LV-ViT: as {@link #CFVIT}, with LV-ViT's convolutional stem and token-labelling head. */
    LVVIT("lvvit");

    private final String jsonName;

    ModelFamily(String jsonName) {
        this.jsonName = jsonName;
    }

    /** The name an Hourglass model file's {@code family} field holds, e.g. {@code "segmenter"}. */
    public String jsonName() {
        return jsonName;
    }

    /** Whether this family is CF-ViT's two-stage model ({@link #CFVIT} or {@link #LVVIT}). */
    public boolean isCfVit() {
        return this == CFVIT || this == LVVIT;
    }

    /**
     * The family a model file names.
     *
     * @param where names the file and field in the error message, e.g. {@code "model.safetensors: family"}
     * @throws IOException naming {@code where}, the value and the families there are
     */
    public static ModelFamily parse(String name, String where) throws IOException {
        for (ModelFamily f : values()) {
            if (f.jsonName.equals(name)) {
                return f;
            }
        }
        throw new IOException(where + " '" + name + "' is not a model family Hourglass knows (" + names() + ")");
    }

    /** Every family's JSON name, comma-separated: {@code vit, deit, segmenter, dpt, cfvit, lvvit}. */
    public static String names() {
        return Arrays.stream(values()).map(ModelFamily::jsonName).collect(Collectors.joining(", "));
    }

    /** The JSON name, so that messages read {@code a segmenter model}. */
    @Override
    public String toString() {
        return jsonName;
    }
}
