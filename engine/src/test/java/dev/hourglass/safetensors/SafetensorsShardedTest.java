package dev.hourglass.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sharded checkpoints (two shards and an index) and the {@link Safetensors#open} entry point. */
class SafetensorsShardedTest {
    private static final String SHARD_1 = "model-00001-of-00002.safetensors";
    private static final String SHARD_2 = "model-00002-of-00002.safetensors";
    private static final String WEIGHT_MAP = "\"weight_map\": {\"embed\": \"" + SHARD_1 + "\", \"head\": \"" + SHARD_2
            + "\", \"blocks.0.w\": \"" + SHARD_1 + "\"}";

    @TempDir
    Path folder;

    @BeforeEach
    void writeTwoShards() throws IOException {
        new SafetensorsWriter()
                .add("embed", Tensor.ofFloats(new float[] {1f, 2f}, 2))
                .add("blocks.0.w", Tensor.ofFloats(new float[] {3f, 4f, 5f, 6f}, 2, 2))
                .write(folder.resolve(SHARD_1));
        new SafetensorsWriter()
                .add("head", Tensor.ofFloats(new float[] {7f}, 1))
                .write(folder.resolve(SHARD_2));
    }

    @Test
    void readsEveryTensorFromItsShardInWeightMapOrder() throws IOException {
        Path index = writeIndex("{\"metadata\": {\"total_size\": 28}, " + WEIGHT_MAP + "}");

        try (ShardedSafetensors source = ShardedSafetensors.open(index)) {
            assertEquals(List.of("embed", "head", "blocks.0.w"), source.names());
            assertEquals(Map.of("total_size", "28"), source.metadata());
            assertArrayEquals(new float[] {1f, 2f}, source.tensor("embed").toFloatArray());
            assertArrayEquals(new float[] {3f, 4f, 5f, 6f}, source.tensor("blocks.0.w").toFloatArray());
            assertArrayEquals(new float[] {7f}, source.tensor("head").toFloatArray());
            assertEquals(Optional.of(folder.resolve(SHARD_2)), source.shardOf("head"));
            assertEquals(8, source.info("blocks.0.w").orElseThrow().begin(), "offsets are within the shard");
            assertTrue(source.contains("head"));

            SafetensorsException e = assertThrows(SafetensorsException.class, () -> source.tensor("tail"));
            assertEquals(index + ": no tensor \"tail\" in weight_map (it lists 3 tensors)", e.getMessage());
        }
    }

    @Test
    void closeClosesEveryShard() throws IOException {
        ShardedSafetensors source = ShardedSafetensors.open(writeIndex("{" + WEIGHT_MAP + "}"));
        Tensor embed = source.tensor("embed");
        Tensor head = source.tensor("head");

        source.close();
        source.close();

        assertThrows(IllegalStateException.class, embed::toFloatArray);
        assertThrows(IllegalStateException.class, head::toFloatArray);
    }

    @Test
    void rejectsAShardThatDoesNotExist() throws IOException {
        Path index = writeIndex("{\"weight_map\": {\"embed\": \"" + SHARD_1
                + "\", \"x\": \"model-00003.safetensors\"}}");

        assertRejected(index, "weight_map names shard \"model-00003.safetensors\", but \""
                + folder.resolve("model-00003.safetensors") + "\" does not exist");
        // A line break in the name stays escaped in the one-line message (found by the converter's fuzzing).
        SafetensorsException e = assertThrows(SafetensorsException.class,
                () -> ShardedSafetensors.open(writeIndex("{\"weight_map\": {\"a\": \"b\\nc\"}}")));
        assertTrue(e.getMessage().chars().noneMatch(c -> c == '\n' || c == '\r'), e.getMessage());
    }

    @Test
    void rejectsANameTheShardDoesNotHoldAndReleasesTheShardsItOpened() throws IOException {
        Path index = writeIndex("{\"weight_map\": {\"embed\": \"" + SHARD_1 + "\", \"head\": \"" + SHARD_2
                + "\", \"blocks.0.w\": \"" + SHARD_1 + "\", \"blocks.1.w\": \"" + SHARD_2 + "\"}}");
        long mappedBefore = SafetensorsMalformedFileTest.mappedBufferCount();

        assertRejected(index, "weight_map puts tensor \"blocks.1.w\" in shard \"" + SHARD_2
                + "\", which has no such tensor");
        assertEquals(mappedBefore, SafetensorsMalformedFileTest.mappedBufferCount());
    }

    @Test
    void rejectsShardNamesThatLeaveTheIndexFolder() throws IOException {
        Path modelFolder = Files.createDirectory(folder.resolve("model"));
        Path index = Files.writeString(modelFolder.resolve(Safetensors.INDEX_FILE_NAME),
                "{\"weight_map\": {\"embed\": \"../" + SHARD_1 + "\"}}");
        assertRejected(index, "weight_map puts tensor \"embed\" in shard \"../" + SHARD_1
                + "\", which leaves the index's folder through \"..\"");

        Files.writeString(index, "{\"weight_map\": {\"embed\": \"sub/../../" + SHARD_1 + "\"}}");
        assertRejected(index, "which leaves the index's folder through \"..\"");

        Files.writeString(index, "{\"weight_map\": {\"embed\": \"" + folder.resolve(SHARD_1) + "\"}}");
        assertRejected(index, "an absolute path; shards must be in the index's folder");
    }

    @Test
    void rejectsATensorStoredInTwoShards() throws IOException {
        new SafetensorsWriter()
                .add("head", Tensor.ofFloats(new float[] {7f}, 1))
                .add("embed", Tensor.ofFloats(new float[] {1f, 2f}, 2))
                .write(folder.resolve(SHARD_2));

        assertRejected(writeIndex("{" + WEIGHT_MAP + "}"), "tensor \"embed\" appears in two shards, "
                + folder.resolve(SHARD_1) + " (where weight_map puts it) and " + folder.resolve(SHARD_2));
    }

    @Test
    void rejectsAShardTensorTheIndexDoesNotList() throws IOException {
        Path index = writeIndex("{\"weight_map\": {\"embed\": \"" + SHARD_1 + "\", \"head\": \"" + SHARD_2 + "\"}}");

        assertRejected(index, "shard " + folder.resolve(SHARD_1) + " holds tensor \"blocks.0.w\", which weight_map"
                + " does not list");
    }

    @Test
    void rejectsMalformedIndexes() throws IOException {
        assertRejected(writeIndex("{\"metadata\": {}}"), "index has no \"weight_map\" object");
        assertRejected(writeIndex("[]"), "index is an array; expected a JSON object with a \"weight_map\"");
        assertRejected(writeIndex(""), "index is empty");
        assertRejected(writeIndex("{\"weight_map\": {\"embed\": 1}}"),
                "weight_map value of tensor \"embed\" is the integer 1; expected a shard file name");
        assertRejected(writeIndex("{\"weight_map\": {\"embed\": \"a\", \"embed\": \"b\"}}"),
                "index is not valid JSON at index byte", "Duplicate field 'embed'");
        assertRejected(writeIndex("{\"metadata\": {\"total_size\": [1]}, " + WEIGHT_MAP + "}"),
                "\"metadata\" value of \"total_size\" is an array; expected a string, number or boolean");
        assertRejected(writeIndex("{\"weight_map\": {\"embed\": \"\"}}"), "the shard file name is empty");
        // Zero bytes first make Jackson guess UTF-32 (found by the converter's fuzzing): refused as not UTF-8.
        Path utf32 = folder.resolve(Safetensors.INDEX_FILE_NAME);
        Files.write(utf32, new byte[] {0, 0, (byte) 0xFE, (byte) 0xFF, '{', '}'});
        assertRejected(utf32, "index is not UTF-8 JSON");
        Files.write(utf32, new byte[] {0, (byte) 0x80, 0, 0});
        assertRejected(utf32, "index is not UTF-8 JSON");
    }

    @Test
    void opensAFileAnIndexOrAFolder() throws IOException {
        Path index = writeIndex("{" + WEIGHT_MAP + "}");
        try (TensorSource source = Safetensors.open(index)) {
            assertInstanceOf(ShardedSafetensors.class, source);
            assertEquals(3, source.tensors().size());
        }
        try (TensorSource source = Safetensors.open(folder)) {
            assertInstanceOf(ShardedSafetensors.class, source);
            assertEquals(index, source.path());
        }
        try (TensorSource source = Safetensors.open(folder.resolve(SHARD_2))) {
            assertInstanceOf(SafetensorsFile.class, source);
            assertEquals(List.of("head"), source.names());
        }
        Path single = folder.resolve(Safetensors.SINGLE_FILE_NAME);
        Files.copy(folder.resolve(SHARD_2), single);
        try (TensorSource source = Safetensors.open(folder)) {
            assertEquals(single, source.path(), "a single file wins over an index, as in transformers");
        }
    }

    @Test
    void saysWhatItLookedForWhenNothingIsThere() throws IOException {
        Path empty = Files.createDirectory(folder.resolve("empty"));
        assertEquals(empty + ": folder holds neither model.safetensors nor model.safetensors.index.json",
                assertThrows(SafetensorsException.class, () -> Safetensors.open(empty)).getMessage());
        Path missing = folder.resolve("missing");
        assertEquals(missing + ": no such file or folder",
                assertThrows(SafetensorsException.class, () -> Safetensors.open(missing)).getMessage());
    }

    private Path writeIndex(String json) throws IOException {
        return Files.writeString(folder.resolve(Safetensors.INDEX_FILE_NAME), json);
    }

    private static void assertRejected(Path index, String... fragments) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> ShardedSafetensors.open(index));
        assertTrue(e.getMessage().startsWith(index + ": "), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "expected \"" + fragment + "\" in: " + e.getMessage());
        }
    }
}
