package dev.hourglass.tasks.classify;

/**
 * One class of a classification result.
 *
 * @param index class index in the model's output
 * @param label class name (the model's label names, ImageNet-1k's for 1000 classes, else {@code "class N"})
 * @param score softmax probability over all classes
 * @param logit the raw output
 */
public record Prediction(int index, String label, float score, float logit) {
}
