package dev.hourglass.safetensors;

import dev.hourglass.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Named tensors read from storage: a single safetensors file ({@link SafetensorsFile}) or a sharded checkpoint
 * ({@link ShardedSafetensors}). Use {@link Safetensors#open(Path)} to get one without caring which.
 *
 * <p>Tensors returned by {@link #tensor(String)} are views of memory owned by the source: they become invalid when
 * the source is closed. Implementations are safe to read from several threads at once.
 */
public interface TensorSource extends AutoCloseable {

    /** The file this source was opened from (the safetensors file, or the shard index). */
    Path path();

    /** Every tensor, in the order the header (or the index's weight map) lists them. */
    List<TensorInfo> tensors();

    /** The names of {@link #tensors()}, in the same order. */
    default List<String> names() {
        return tensors().stream().map(TensorInfo::name).toList();
    }

    /** The entry for {@code name}, or empty if there is no such tensor. */
    Optional<TensorInfo> info(String name);

    /** Whether a tensor called {@code name} exists. */
    default boolean contains(String name) {
        return info(name).isPresent();
    }

    /**
     * The tensor called {@code name}, as a view of the stored bytes (no copy).
     *
     * @throws SafetensorsException  if there is no such tensor, or its dtype is valid in the format but not one the
     *                               engine computes with ({@link TensorInfo#floatType()} is empty)
     * @throws IllegalStateException if the source is closed
     */
    Tensor tensor(String name) throws SafetensorsException;

    /** String metadata stored with the tensors; empty if there is none. */
    Map<String, String> metadata();

    /** Releases the mapped files. Every tensor handed out becomes invalid. Closing twice does nothing. */
    @Override
    void close();
}
