package dev.hourglass.convert;

import java.util.List;
import java.util.Map;

import dev.hourglass.model.ModelConfig;
import dev.hourglass.tensor.Shape;

/**
 * What a layout made of a checkpoint: the configuration (null if it could not be determined), the plan of canonical
 * tensors, their shapes, and every problem found (missing, mis-shaped or unmapped tensors). A conversion with problems
 * can be inspected but not loaded or written.
 */
record Conversion(String layout, ModelConfig config, TensorPlan plan, Map<String, Shape> shapes, List<String> problems) {
}
