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

import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.Reductions;
import dev.hourglass.reduce.expedit.ExpeditSettings;
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
        segmenter = SemanticSegmenter.load(MODEL, 1);
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
}
