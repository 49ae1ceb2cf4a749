package dev.hourglass.safetensors;

import static dev.hourglass.safetensors.Messages.quote;

import dev.hourglass.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A checkpoint split over several safetensors files, described by an index ({@code model.safetensors.index.json}).
 * Each shard is opened (and mapped) once. Opening checks that the index and the shards agree exactly: every tensor the
 * weight map names is in the shard it names, and every tensor of every shard is listed, in that shard only. If
 * anything fails, the shards already opened are closed before the exception is thrown.
 *
 * <p>Thread safety: as for {@link SafetensorsFile}; {@link #close()} closes every shard and invalidates all tensors.
 */
public final class ShardedSafetensors implements TensorSource {
    private final Path indexFile;
    private final Map<String, String> metadata;
    private final List<TensorInfo> tensors;
    private final Map<String, SafetensorsFile> shardByTensor;
    private final List<SafetensorsFile> shards;

    private ShardedSafetensors(Path indexFile, Map<String, String> metadata,
            Map<String, SafetensorsFile> shardByTensor, List<SafetensorsFile> shards) {
        this.indexFile = indexFile;
        this.metadata = metadata;
        this.shardByTensor = shardByTensor;
        this.shards = shards;
        this.tensors = shardByTensor.entrySet().stream()
                .map(e -> e.getValue().info(e.getKey()).orElseThrow())
                .toList();
    }

    /**
     * Reads the index and opens every shard it names.
     *
     * @throws SafetensorsException if the index is malformed, names a shard outside its folder or a missing one, a
     *                              shard is malformed, or the index and the shards disagree
     */
    public static ShardedSafetensors open(Path indexFile) throws IOException {
        ShardIndex index = ShardIndex.read(indexFile);
        Map<Path, SafetensorsFile> opened = new LinkedHashMap<>();
        try {
            Map<String, SafetensorsFile> shardByName = new LinkedHashMap<>();
            for (Map.Entry<String, Path> shard : index.shardPaths().entrySet()) {
                shardByName.put(shard.getKey(), openOnce(indexFile, shard.getKey(), shard.getValue(), opened));
            }
            Map<String, SafetensorsFile> shardByTensor = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : index.weightMap().entrySet()) {
                SafetensorsFile shard = shardByName.get(e.getValue());
                if (!shard.contains(e.getKey())) {
                    throw new SafetensorsException(indexFile, "weight_map puts " + Messages.tensor(e.getKey())
                            + " in shard " + quote(e.getValue()) + ", which has no such tensor");
                }
                shardByTensor.put(e.getKey(), shard);
            }
            checkEveryShardTensorIsListedOnce(indexFile, opened.values(), shardByTensor);
            return new ShardedSafetensors(indexFile, index.metadata(), shardByTensor, List.copyOf(opened.values()));
        } catch (Throwable t) {
            closeAll(opened.values());
            throw t;
        }
    }

    /** Two names for one file (e.g. {@code a.safetensors} and {@code ./a.safetensors}) share one mapping. */
    private static SafetensorsFile openOnce(Path indexFile, String name, Path path, Map<Path, SafetensorsFile> opened)
            throws IOException {
        SafetensorsFile shard = opened.get(path);
        if (shard == null) {
            if (!Files.isRegularFile(path)) {
                throw new SafetensorsException(indexFile, "weight_map names shard " + quote(name) + ", but "
                        + quote(path.toString()) + " does not exist or is not a regular file");
            }
            shard = SafetensorsFile.open(path);
            opened.put(path, shard);
        }
        return shard;
    }

    /** A tensor stored twice, or stored but not listed, means the index and the shards disagree: refuse to guess. */
    private static void checkEveryShardTensorIsListedOnce(Path indexFile, Collection<SafetensorsFile> shards,
            Map<String, SafetensorsFile> shardByTensor) throws SafetensorsException {
        for (SafetensorsFile shard : shards) {
            for (TensorInfo t : shard.tensors()) {
                SafetensorsFile listed = shardByTensor.get(t.name());
                if (listed == null) {
                    throw new SafetensorsException(indexFile, "shard " + shard.path() + " holds "
                            + Messages.tensor(t.name()) + ", which weight_map does not list");
                }
                if (listed != shard) {
                    throw new SafetensorsException(indexFile, Messages.tensor(t.name()) + " appears in two shards, "
                            + listed.path() + " (where weight_map puts it) and " + shard.path());
                }
            }
        }
    }

    private static void closeAll(Collection<SafetensorsFile> shards) {
        for (SafetensorsFile shard : shards) {
            shard.close();
        }
    }

    /** The index file. */
    @Override
    public Path path() {
        return indexFile;
    }

    /**
     * Every tensor, in weight map order. Each entry is the one from its shard's header, so {@code begin} and
     * {@code end} are offsets within that shard's data buffer.
     */
    @Override
    public List<TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public Optional<TensorInfo> info(String name) {
        SafetensorsFile shard = shardByTensor.get(name);
        return shard == null ? Optional.empty() : shard.info(name);
    }

    @Override
    public boolean contains(String name) {
        return shardByTensor.containsKey(name);
    }

    /** The shard file holding {@code name}, or empty if there is no such tensor. */
    public Optional<Path> shardOf(String name) {
        return Optional.ofNullable(shardByTensor.get(name)).map(SafetensorsFile::path);
    }

    /** The tensor called {@code name}, a slice of its shard's mapping. */
    @Override
    public Tensor tensor(String name) throws SafetensorsException {
        SafetensorsFile shard = shardByTensor.get(name);
        if (shard == null) {
            throw new SafetensorsException(indexFile, "no " + Messages.tensor(name) + " in weight_map (it lists "
                    + shardByTensor.size() + " tensors)");
        }
        return shard.tensor(name);
    }

    /**
     * The index's {@code metadata}, with numbers and booleans as text (e.g. {@code total_size}); the shards' own
     * {@code __metadata__} is not merged in.
     */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Closes every shard; all tensors obtained from this source become invalid. Closing twice does nothing. */
    @Override
    public void close() {
        closeAll(shards);
    }

    @Override
    public String toString() {
        return "ShardedSafetensors[" + indexFile + ", " + shards.size() + " shards, " + tensors.size() + " tensors]";
    }
}
