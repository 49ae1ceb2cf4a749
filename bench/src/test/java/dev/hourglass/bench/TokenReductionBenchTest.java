package dev.hourglass.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pieces of {@link TokenReductionBench} that need no model: alternation, ticks, the plot, the label file. */
class TokenReductionBenchTest {

    @Test
    void alternatingBlocksReverseTheOrderAndTimeEveryCall() throws Exception {
        List<String> calls = new ArrayList<>();
        List<Alternating.Contender> contenders = List.of(
                new Alternating.Contender("a", () -> calls.add("a")),
                new Alternating.Contender("b", () -> calls.add("b")));
        int[] blocks = {0};
        Map<String, double[]> times = Alternating.time(contenders, 1, 4, 2, () -> blocks[0]++);
        // Warm-up a, b; block 1: a (untimed + 2), b (untimed + 2); block 2 reversed.
        assertEquals(List.of("a", "b", "a", "a", "a", "b", "b", "b", "b", "b", "b", "a", "a", "a"), calls);
        assertEquals(2, blocks[0]);
        assertEquals(4, times.get("a").length);
        assertEquals(4, times.get("b").length);
        assertEquals(2.0, Alternating.pairedRatio(new double[] {2, 4, 6}, new double[] {1, 2, 3}), 1e-12);
    }

    @Test
    void ticksAreRoundAndCoverTheRange() {
        // (hi - lo) / 6 = 0.00745: a step of 5e-3, from the multiple below lo to the one above hi.
        assertArrayEquals(new double[] {0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.055, 0.06, 0.065, 0.07},
                ScatterPlot.ticks(0.0217, 0.0664), 1e-12);
        double[] t = ScatterPlot.ticks(55, 99);
        assertTrue(t[0] <= 55 && t[t.length - 1] >= 99, java.util.Arrays.toString(t));
        assertEquals(5, t[1] - t[0], 1e-12);
    }

    @Test
    void plotIsAPngOfTheAskedSizeWithTwoPanels(@TempDir Path dir) throws IOException {
        ScatterPlot p = new ScatterPlot("title", "x", "y", "%.2f", "%.0f")
                .add(new ScatterPlot.Series("one", java.awt.Color.BLUE, ScatterPlot.Marker.CIRCLE, true, true,
                        List.of(new ScatterPlot.Point(1, 50, "a"), new ScatterPlot.Point(2, 70, "b"))))
                .add(new ScatterPlot.Series("star", java.awt.Color.BLACK, ScatterPlot.Marker.STAR, true, false,
                        List.of(new ScatterPlot.Point(3, 90, null))));
        Path png = dir.resolve("sub/plot.png");
        ScatterPlot.writePanels(png, 400, 300, List.of(p, p));
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(400, img.getWidth());
        assertEquals(600, img.getHeight());
    }

    @Test
    void samplesReadTheExportedLabelFile(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("labels.tsv"), "file\tlabel\tclass\ttorch_top1\n"
                + "images/0000.png\t3\tstar\t3\nimages/0001.png\t9\tdots\t8\n");
        List<TokenReductionBench.Sample> s = TokenReductionBench.samples(dir);
        assertEquals(2, s.size());
        assertEquals(dir.resolve("images/0001.png"), s.get(1).file());
        assertEquals(9, s.get(1).label());
        assertEquals(8, s.get(1).torchTop1());
        assertThrows(IOException.class, () -> TokenReductionBench.samples(dir.resolve("missing")));
    }
}
