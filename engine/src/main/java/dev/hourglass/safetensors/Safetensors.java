package dev.hourglass.safetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens safetensors checkpoints without the caller having to know whether they are sharded. */
public final class Safetensors {
    /** Name of a single-file checkpoint inside a model folder. */
    public static final String SINGLE_FILE_NAME = "model.safetensors";

    /** Name of a sharded checkpoint's index inside a model folder. */
    public static final String INDEX_FILE_NAME = "model.safetensors.index.json";

    private Safetensors() {
    }

    /**
     * Opens {@code path} as a tensor source:
     * <ul>
     *   <li>a file whose name ends in {@code .json}: a shard index, opened as {@link ShardedSafetensors};</li>
     *   <li>any other file: a single {@link SafetensorsFile};</li>
     *   <li>a folder: its {@value #SINGLE_FILE_NAME} if present (preferred, as Hugging Face transformers does), else
     *       its {@value #INDEX_FILE_NAME}.</li>
     * </ul>
     *
     * @throws SafetensorsException if the path does not exist, a folder holds neither file, or the file is invalid
     */
    public static TensorSource open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path single = path.resolve(SINGLE_FILE_NAME);
            if (Files.isRegularFile(single)) {
                return SafetensorsFile.open(single);
            }
            Path index = path.resolve(INDEX_FILE_NAME);
            if (Files.isRegularFile(index)) {
                return ShardedSafetensors.open(index);
            }
            throw new SafetensorsException(path, "folder holds neither " + SINGLE_FILE_NAME + " nor "
                    + INDEX_FILE_NAME);
        }
        if (!Files.exists(path)) {
            throw new SafetensorsException(path, "no such file or folder");
        }
        return path.getFileName().toString().endsWith(".json")
                ? ShardedSafetensors.open(path)
                : SafetensorsFile.open(path);
    }
}
