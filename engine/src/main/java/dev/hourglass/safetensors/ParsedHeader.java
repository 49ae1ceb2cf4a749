package dev.hourglass.safetensors;

import java.util.List;
import java.util.Map;

/** A validated header: tensors in header order, and the {@code __metadata__} strings. */
record ParsedHeader(List<TensorInfo> tensors, Map<String, String> metadata) {
}
