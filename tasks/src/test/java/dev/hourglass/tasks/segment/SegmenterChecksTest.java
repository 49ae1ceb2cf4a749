package dev.hourglass.tasks.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.cli.HourglassCommand;
import dev.hourglass.model.ModelFormat;
import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.tasks.ModelOptions;
import dev.hourglass.tensor.Tensor;

/**
 * The checks a caller with many images makes once, before any runs: {@link SemanticSegmenter#checkReduction} and
 * {@link SemanticSegmenter#sizeProblem} refuse exactly what {@code segment} refuses, in its words.
 */
class SegmenterChecksTest {
    /** 5 classes, 48x48 windows of patch 8: a 6x6 token grid, 4 blocks. */
    private static final Path MODEL = Path.of("src/test/resources/golden/segmenter/seg_tiny_mask/checkpoint.pth");

    private static SemanticSegmenter segmenter;

    @BeforeAll
    static void load() throws IOException {
        segmenter = SemanticSegmenter.load(MODEL, new ModelOptions(1));
    }

    @AfterAll
    static void close() {
        segmenter.close();
    }

    @Test
    void checkReductionRefusesWhatEverySegmentCallRefusesInItsWords() {
        Tensor image = Tensor.ofFloats(new float[3 * 20 * 20], 1, 3, 20, 20);
        for (String spec : new String[] {"expedit:alpha=2,grid=6x6", "expedit:alpha=5,grid=4x4", "tome:r=0"}) {
            ReductionMethod method = Reductions.parse(spec);
            IllegalArgumentException early = assertThrows(IllegalArgumentException.class,
                    () -> segmenter.checkReduction(method), spec);
            IllegalArgumentException running = assertThrows(IllegalArgumentException.class,
                    () -> segmenter.segment(image, method), spec);
            assertEquals(running.getMessage(), early.getMessage(), spec);
        }
        IllegalArgumentException grid = assertThrows(IllegalArgumentException.class,
                () -> segmenter.checkReduction(ExpeditSettings.parse("alpha=2,grid=6x6")));
        assertTrue(grid.getMessage().contains("not smaller than the 6x6 token grid"), grid.getMessage());
        segmenter.checkReduction(null);
        segmenter.checkReduction(ExpeditSettings.parse("alpha=2,grid=4x4"));
        segmenter.checkReduction(Reductions.parse("tome:r=2"));
    }

    @Test
    void sizeProblemIsTheMergeCheckAtTheSizeTheWindowsRunAt() {
        long heap = Runtime.getRuntime().maxMemory();
        assertNull(segmenter.sizeProblem(70, 52));
        assertNull(segmenter.sizeProblem(1, 1), "scaled up to one 48x48 window");
        // 30000 x 30000 x 5 classes: more values than one Java array holds, whatever the heap.
        String square = segmenter.sizeProblem(30000, 30000);
        assertEquals(SemanticSegmenter.mergeTooLarge(30000, 30000, 30000, 30000, 5, heap), square);
        assertTrue(square.startsWith("a 30000x30000 image needs ") && square.contains("2^31"), square);
        // A thin strip is scaled up until its short side is a window: 1 x 50e6 pixels becomes 48 x (a lot).
        int[] scaled = SlidingWindows.scaledSize(50_000_000, 1, 48);
        String strip = segmenter.sizeProblem(1, 50_000_000);
        assertNotNull(strip);
        assertEquals(SemanticSegmenter.mergeTooLarge(50_000_000, 1, scaled[0], scaled[1], 5, heap), strip);
        assertTrue(strip.startsWith("a 1x50000000 image needs "), strip);
        assertThrows(IllegalArgumentException.class, () -> segmenter.sizeProblem(0, 10));
        assertThrows(IllegalArgumentException.class, () -> segmenter.sizeProblem(10, -1));
    }

    /**
     * A converted model whose decoder settings lost a field or hold a wrong one is refused when it loads, naming the
     * field (a missing {@code n_layers} used to be read as 0 decoder blocks).
     */
    @Test
    void decoderSettingsMissingOrWrongAreRefusedByName(@TempDir Path tmp) throws IOException {
        Path converted = tmp.resolve("seg.safetensors");
        assertEquals(0, HourglassCommand.commandLine().execute("convert", MODEL.toString(), converted.toString()),
                "convert");
        SemanticSegmenter.load(converted, new ModelOptions(1)).close();
        ObjectMapper json = new ObjectMapper();
        String[][] cases = {{"n_layers", null, "decoder.n_layers must be an integer of at least 0, got null"},
                {"n_layers", "-1", "decoder.n_layers must be an integer of at least 0, got -1"},
                {"n_layers", "1.5", "decoder.n_layers must be an integer of at least 0, got 1.5"},
                {"d_model", null, "decoder.d_model must be a positive integer, got null"},
                {"num_heads", "0", "decoder.num_heads must be a positive integer, got 0"}};
        for (String[] c : cases) {
            SafetensorsWriter w = new SafetensorsWriter();
            ObjectNode config;
            try (SafetensorsFile f = SafetensorsFile.open(converted)) {
                for (TensorInfo t : f.tensors()) {
                    w.add(t.name(), Tensor.ofFloats(f.tensor(t.name()).toFloatArray(), t.shape()));
                }
                config = (ObjectNode) json.readTree(f.metadata().get(ModelFormat.CONFIG_KEY));
            }
            ObjectNode decoder = (ObjectNode) config.get("decoder");
            if (c[1] == null) {
                decoder.remove(c[0]);
            } else {
                decoder.set(c[0], json.readTree(c[1]));
            }
            w.metadata(ModelFormat.FORMAT_KEY, ModelFormat.FORMAT_VALUE);
            w.metadata(ModelFormat.CONFIG_KEY, config.toString());
            Path broken = tmp.resolve(c[0] + "-" + c[1] + ".safetensors");
            w.write(broken);
            IOException e = assertThrows(IOException.class, () -> SemanticSegmenter.load(broken, new ModelOptions(1)), c[0]);
            assertTrue(e.getMessage().startsWith(broken.toString()) || e.getMessage().contains(broken.getFileName()
                    .toString()), e.getMessage());
            assertTrue(e.getMessage().endsWith(c[2]), e.getMessage());
        }
    }
}
