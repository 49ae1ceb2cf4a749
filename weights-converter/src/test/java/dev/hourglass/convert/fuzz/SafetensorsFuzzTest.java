package dev.hourglass.convert.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.safetensors.Safetensors;
import dev.hourglass.safetensors.SafetensorsException;
import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's safetensors reader, which the converter opens every safetensors checkpoint with, on mutants of small
 * valid files (single files and a shard index): each is read (header, metadata, every tensor's values) or refused with
 * a {@link SafetensorsException} naming the file. Short run by default; see {@link Fuzzer} for a long one.
 */
class SafetensorsFuzzTest {
    /** Pieces of a safetensors header worth inserting: its keys, dtypes, JSON syntax and awkward numbers. */
    private static final List<byte[]> TOKENS = Mutator.utf8("\"dtype\"", "\"shape\"", "\"data_offsets\"",
            "\"__metadata__\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"U8\"", "\"BOOL\"",
            "\"F8_E4M3\"", "\"F4\"", "\"weight_map\"", "\"metadata\"", "\"total_size\"", "\"../x.safetensors\"",
            "\"/etc/passwd\"", "{", "}", "[", "]", ",", ":", "\"", "\\u0000", "\\ud800", "\\\"", "[]", "{}", "null",
            "true", "-1", "0", "18446744073709551615", "9223372036854775807", "1e3", "1.0", "-0", "[0,0]",
            "[1,2,3,4,5,6,7,8]", "\u00e9", "\uFEFF");

    @TempDir
    Path folder;

    @Test
    void everySingleFileMutantIsReadOrRefused() throws IOException {
        List<byte[]> seeds = new ArrayList<>(Seeds.read("pth/untyped_v3.expected.safetensors",
                "pth/state_dict.expected.safetensors"));
        seeds.add(smallCheckpoint());
        Mutator mutator = new Mutator(seeds, TOKENS);
        Fuzzer.Report report = Fuzzer.run("safetensors", mutator::mutant, 400, folder.resolve("model.safetensors"),
                SafetensorsFuzzTest::readEverything, Fuzzer.documented(SafetensorsException.class));
        assertTrue(report.read() > 0 && !report.refused().isEmpty(), "the mutants must exercise both outcomes: "
                + report);
    }

    @Test
    void everyShardIndexMutantIsReadOrRefused() throws IOException {
        for (String shard : List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
            Files.copy(Seeds.resource("convert/hf_vit_sharded/" + shard), folder.resolve(shard));
        }
        Mutator mutator = new Mutator(Seeds.read("convert/hf_vit_sharded/model.safetensors.index.json"), TOKENS);
        Fuzzer.Report report = Fuzzer.run("safetensors-index", mutator::mutant, 200,
                folder.resolve("model.safetensors.index.json"), SafetensorsFuzzTest::readEverything,
                Fuzzer.documented(SafetensorsException.class));
        assertTrue(report.read() > 0 && !report.refused().isEmpty(), "the mutants must exercise both outcomes: "
                + report);
    }

    /** Opens the file and reads what the converter reads: metadata, every tensor's description and values. */
    static void readEverything(Path file) throws IOException {
        try (TensorSource source = Safetensors.open(file)) {
            source.metadata().forEach((k, v) -> {
                if (k == null || v == null) {
                    throw new AssertionError("null metadata entry");
                }
            });
            for (TensorInfo info : source.tensors()) {
                try {
                    Tensor t = source.tensor(info.name());
                    if (t.elementCount() != info.shape().elementCount()) {
                        throw new AssertionError(info.name() + ": " + t.elementCount() + " elements for " + info);
                    }
                    if (t.elementCount() > 0) {
                        float[] ends = new float[2];
                        t.copyToFloats(0, ends, 0, 1);
                        t.copyToFloats(t.elementCount() - 1, ends, 1, 1);
                    }
                    if (t.elementCount() <= 1 << 16) {
                        t.toFloatArray();
                    }
                } catch (SafetensorsException e) {
                    // A tensor the engine does not compute with (an integer dtype): refused on its own.
                    String why = Fuzzer.documented(SafetensorsException.class).whyNot(e, file);
                    if (why != null) {
                        throw new AssertionError(why, e);
                    }
                }
            }
        }
    }

    /** Four tensors of the float dtypes, one integer tensor, a scalar, an empty one, and metadata. */
    private byte[] smallCheckpoint() throws IOException {
        Path file = folder.resolve("seed.safetensors");
        new SafetensorsWriter()
                .metadata("format", "pt")
                .metadata("n_cls", "5")
                .add("blocks.0.attn.qkv.weight", Tensor.ofFloats(new float[] {1, -2, 3.5f, 0, 1e-3f, 7}, 3, 2))
                .add("half", "F16", Shape.of(3L), MemorySegment.ofArray(new byte[] {0, 0x3c, 0, (byte) 0xc0, 1, 0}))
                .add("brain", "BF16", Shape.of(2L, 1L), MemorySegment.ofArray(new byte[] {(byte) 0x80, 0x3f, 0, 0}))
                .add("index", "I64", Shape.of(2L), MemorySegment.ofArray(new byte[16]))
                .add("scalar", Tensor.ofFloats(new float[] {42}, Shape.of(new long[0])))
                .add("empty", Tensor.ofFloats(new float[0], 0, 4))
                .write(file);
        return Files.readAllBytes(file);
    }
}
