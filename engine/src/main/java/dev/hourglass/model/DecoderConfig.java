package dev.hourglass.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The family-specific settings of a model (the model file's {@code decoder} object): {@link SegmenterDecoderConfig},
 * {@link DptConfig}, {@code dev.hourglass.reduce.cfvit.CfVitSettings}. Each is written by its own {@code toJson()} and
 * read by its own {@code fromJson(JsonNode, String)}, the only code that writes or reads that JSON; which one a file
 * holds follows from its {@link ModelFamily} ({@link ModelConfig#fromJson}).
 *
 * <p>Implementations are immutable values, safe to share between threads.
 */
public interface DecoderConfig {
    /** The settings as the model file's {@code decoder} object. */
    ObjectNode toJson();
}
