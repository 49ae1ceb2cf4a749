package dev.hourglass.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.hourglass.backend.cpu.CpuBackend;
import dev.hourglass.reduce.TokenReducer;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.model.SegmenterDecoderConfig;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Npy;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.testing.Fixtures;
import dev.hourglass.vit.VisionTransformer;

/** Refused inputs, dtype conversion as PyTorch rounds, and nothing lost: the converter's promises. */
class ConverterBehaviourTest {
    private static final Path ROOT = Fixtures.path("convert");

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "unknown_layout.pth|not a checkpoint layout Hourglass knows",
            "wrong_qkv_shape.safetensors|mis-shaped: blocks.0.attn.qkv.weight is [49, 16], expected [48, 16]",
            "unexpected_key.safetensors|unexpected: blocks.0.ls1.gamma",
            "missing_norm_weight.safetensors|missing: norm.weight [16]"})
    void refusedInputsNameTheirProblem(String file, String message) throws IOException {
        Path input = ROOT.resolve("refused").resolve(file);
        IOException e = assertThrows(IOException.class, () -> Converter.open(input, ConvertOptions.NONE));
        assertTrue(e.getMessage().startsWith(file) && e.getMessage().contains(message), e.getMessage());
        if (!file.equals("unknown_layout.pth")) {
            Inspection report = Converter.inspect(input, ConvertOptions.NONE);
            assertTrue(report.problems().stream().anyMatch(p -> p.contains(message)), report.toText());
        }
    }

    @Test
    void unknownOrWrongFamilyIsReported() {
        Path timm = ROOT.resolve("timm_hub");
        IOException unknown = assertThrows(IOException.class,
                () -> Converter.open(timm, new ConvertOptions("onnx", null, null)));
        assertTrue(unknown.getMessage().contains("--family onnx is not a known layout"), unknown.getMessage());
        IOException wrong = assertThrows(IOException.class,
                () -> Converter.open(timm, new ConvertOptions("dpt", null, null)));
        assertTrue(wrong.getMessage().contains("(dpt layout)") && wrong.getMessage().contains("unmapped: "),
                wrong.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"F16", "BF16"})
    void halfPrecisionFilesHoldPyTorchsRoundingAndStillRun(DType dtype, @TempDir Path tmp) throws IOException {
        Path dir = ROOT.resolve("timm_hub");
        Path out = tmp.resolve("half.safetensors");
        try (ConvertedModel model = Converter.open(dir, ConvertOptions.NONE)) {
            Converter.write(model, out, dtype, false, Converter.Progress.NONE);
            try (SafetensorsFile half = SafetensorsFile.open(out)) {
                for (TensorInfo t : half.tensors()) {
                    assertEquals(dtype.safetensorsName(), t.dtype(), t.name());
                    float[] source = model.tensor(t.name()).toFloatArray();
                    MemorySegment rounded = MemorySegment.ofArray(new byte[source.length * 2]);
                    dtype.fromFloats(source, 0, rounded, 0, source.length);
                    assertEquals(-1L, rounded.mismatch(half.tensor(t.name()).data()), t.name());
                }
            }
        }
        Tensor input = Npy.read(dir.resolve("expected/input.npy"));
        float[] expected = Npy.read(dir.resolve("expected/features.npy")).toFloatArray();
        try (ConvertedModel half = Converter.open(out, ConvertOptions.NONE);
             CpuBackend backend = new CpuBackend(1);
             VisionTransformer model = VisionTransformer.create(half.config().encoder(), half, backend)) {
            float[] got = model.features(input, TokenReducer.NONE).toFloatArray();
            double max = 0;
            for (int i = 0; i < got.length; i++) {
                max = Math.max(max, Math.abs(got[i] - expected[i]));
            }
            // Weights rounded to 8 (BF16) or 11 (F16) significant bits move the features by about that much.
            assertTrue(max < (dtype == DType.BF16 ? 0.2 : 0.02), dtype + " features off by " + max);
        }
    }

    @Test
    void classNamesGivenByTheUserTravelIntoTheFile(@TempDir Path tmp) throws Exception {
        Path pth = ROOT.resolve("segmenter_linear_pth");
        int classes;
        try (ConvertedModel plain = Converter.open(pth, ConvertOptions.NONE)) {
            assertEquals(List.of(), plain.config().labels());
            classes = plain.config().decoder(SegmenterDecoderConfig.class).classes();
        }
        List<String> names = java.util.stream.IntStream.range(0, classes).mapToObj(i -> "thing " + i).toList();
        Path out = tmp.resolve("seg.safetensors");
        try (ConvertedModel model = Converter.open(pth, new ConvertOptions(null, null, null, names))) {
            Converter.write(model, out, null, false, Converter.Progress.NONE);
        }
        try (ConvertedModel back = Converter.open(out, ConvertOptions.NONE)) {
            assertEquals(names, back.config().labels());
        }
        IOException wrong = assertThrows(IOException.class, () -> Converter.open(pth,
                new ConvertOptions(null, null, null, List.of("one", "two"))));
        assertTrue(wrong.getMessage().contains("2 class names given for a model of " + classes + " classes"),
                wrong.getMessage());
    }

    @Test
    void nothingIsLostOrHalfWritten(@TempDir Path tmp) throws Exception {
        Path dir = ROOT.resolve("deit_pth");
        String before = sha256(dir.resolve("checkpoint.pth"));
        Path out = tmp.resolve("deit.safetensors");
        Files.writeString(out, "an earlier file");
        ConvertOptions heads = new ConvertOptions(null, 2, null);
        try (ConvertedModel model = Converter.open(dir, heads)) {
            IOException exists = assertThrows(IOException.class,
                    () -> Converter.write(model, out, null, false, Converter.Progress.NONE));
            assertTrue(exists.getMessage().contains("exists; use --force"), exists.getMessage());
            assertEquals("an earlier file", Files.readString(out), "kept without --force");

            // A failure at the final rename (the destination is a non-empty folder) leaves nothing behind.
            Path folder = tmp.resolve("taken");
            Files.createDirectories(folder.resolve("inside"));
            assertThrows(IOException.class, () -> Converter.write(model, folder, null, true, Converter.Progress.NONE));
            try (var files = Files.list(tmp)) {
                assertEquals(List.of("deit.safetensors", "taken"),
                        files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file left");
            }

            Converter.write(model, out, null, true, Converter.Progress.NONE);
        }
        assertEquals(before, sha256(dir.resolve("checkpoint.pth")), "the input was modified");
        try (ConvertedModel written = Converter.open(out, ConvertOptions.NONE)) {
            assertEquals("hourglass", written.layout());
            assertEquals(ModelFamily.DEIT, written.config().family());
        }
    }

    @Test
    void writingOverTheInputIsRefused(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("model.safetensors");
        try (ConvertedModel model = Converter.open(ROOT.resolve("timm_hub"), ConvertOptions.NONE)) {
            Converter.write(model, file, null, false, Converter.Progress.NONE);
        }
        try (ConvertedModel again = Converter.open(file, ConvertOptions.NONE)) {
            IOException e = assertThrows(IOException.class,
                    () -> Converter.write(again, file, null, true, Converter.Progress.NONE));
            assertTrue(e.getMessage().contains("is the input file"), e.getMessage());
        }
    }

    @Test
    void progressReachesTheTotal(@TempDir Path tmp) throws IOException {
        long[] last = {-1, -1};
        try (ConvertedModel model = Converter.open(ROOT.resolve("hf_vit"), ConvertOptions.NONE)) {
            Converter.write(model, tmp.resolve("m.safetensors"), null, false, (done, total) -> {
                assertTrue(done >= last[0] && done <= total);
                last[0] = done;
                last[1] = total;
            });
        }
        assertEquals(last[1], last[0]);
        assertTrue(last[1] > 0);
    }

    @Test
    void inspectShowsWhatWasInferred() throws IOException {
        // The heads are inferred (width / 64) and the normalisation defaulted, but both are refused as guesses:
        // inspect reports them as the two problems.
        Inspection bare = Converter.inspect(ROOT.resolve("timm_bare_safetensors"), ConvertOptions.NONE);
        assertEquals(2, bare.problems().size(), bare.toText());
        assertTrue(bare.problems().get(0).contains("give --heads N"), bare.toText());
        assertTrue(bare.problems().get(1).contains("give --mean and --std"), bare.toText());
        assertTrue(bare.config().inferred().stream().anyMatch(n -> n.contains("num_heads = 1 = width 64 / 64")),
                bare.toText());
        assertTrue(bare.toText().contains("inferred    image size 32x32 from the position embedding"), bare.toText());
        assertArrayEquals(new String[] {"F32"}, bare.dtypes().keySet().toArray(new String[0]));
        Inspection hf = Converter.inspect(ROOT.resolve("hf_vit"), ConvertOptions.NONE);
        assertTrue(hf.toText().contains("blocks.0.attn.qkv.weight") && hf.toText().contains(
                "<- vit.encoder.layer.0.attention.attention.query.weight + vit.encoder.layer.0.attention.attention"
                        + ".key.weight + vit.encoder.layer.0.attention.attention.value.weight"), hf.toText());
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
