package dev.hourglass.cli;

import dev.hourglass.convert.ConvertOptions;
import picocli.CommandLine.Option;

/** What a checkpoint may not say, for every command that reads one (picocli mixin). */
final class ConversionOptions {

    @Option(names = "--family", paramLabel = "LAYOUT",
            description = "The checkpoint's layout, if detection from its tensor names is not enough: hourglass, timm,"
                    + " hf-vit, hf-dpt, dpt, segmenter, segmenter-mmseg, cfvit.")
    String family;

    @Option(names = "--heads", paramLabel = "N",
            description = "Attention heads of the encoder, when the checkpoint does not say (default: width / 64).")
    Integer heads;

    @Option(names = "--decoder-heads", paramLabel = "N",
            description = "Attention heads of Segmenter's mask-transformer decoder (default: its width / 64).")
    Integer decoderHeads;

    ConvertOptions toOptions() {
        return new ConvertOptions(family, heads, decoderHeads);
    }
}
