/**
 * Reading and writing the safetensors weight format (https://github.com/huggingface/safetensors).
 *
 * <p>{@link dev.hourglass.safetensors.Safetensors#open(java.nio.file.Path)} opens a single file, a sharded checkpoint's
 * index, or a checkpoint folder as a {@link dev.hourglass.safetensors.TensorSource}. Files are memory-mapped once and
 * tensors are slices of the mapping (no copy). Every header is validated field by field before any tensor is handed
 * out; a malformed file is rejected with a {@link dev.hourglass.safetensors.SafetensorsException} that quotes the file,
 * the tensor, the field, the offending value and the limit it broke.
 */
package dev.hourglass.safetensors;
