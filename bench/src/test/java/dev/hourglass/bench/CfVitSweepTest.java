package dev.hourglass.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.hourglass.tensor.Tensor;

/** The bookkeeping of {@link CfVitSweep} that needs no model: the exit rule and what a threshold's answer is. */
class CfVitSweepTest {

    @Test
    void exitRuleIsCfVitsProbabilityAtOrAboveTheThreshold() {
        assertTrue(CfVitSweep.exits(0.5f, 0.5));
        assertFalse(CfVitSweep.exits(Math.nextDown(0.5f), 0.5));
        assertTrue(CfVitSweep.exits(0.01f, 0));
        // η = 1 still lets a saturated probability exit; only a threshold above 1 sends every image on.
        assertTrue(CfVitSweep.exits(1f, 1));
        assertFalse(CfVitSweep.exits(1f, CfVitSweep.ALWAYS_FINE));
    }

    @Test
    void sweepTakesTheCoarseAnswerForExitsAndTheFineOneOtherwise() {
        // label, coarse top-1, fine top-1, coarse max probability, plain top-1
        List<CfVitSweep.Outcome> o = List.of(
                new CfVitSweep.Outcome(0, 0, 0, 0.9f, 0),   // right either way
                new CfVitSweep.Outcome(1, 2, 1, 0.6f, 1),   // coarse wrong, fine right
                new CfVitSweep.Outcome(2, 2, 3, 0.95f, 2),  // coarse right, fine wrong
                new CfVitSweep.Outcome(3, 0, 3, 0.3f, 0));  // coarse wrong, fine right
        double coarse = 1;
        double fine = 4;

        CfVitSweep.SweepPoint all = CfVitSweep.sweep(o, 0, coarse, fine);
        assertEquals(4, all.exited());
        assertEquals(2, all.correct());
        assertEquals(1.0, all.avgGflops(), 1e-12);
        assertEquals(1, all.agreeAlwaysFine());   // coarse and fine answers agree on image 0 only
        CfVitSweep.SweepPoint mid = CfVitSweep.sweep(o, 0.7, coarse, fine);
        assertEquals(2, mid.exited());             // 0.9 and 0.95
        assertEquals(4, mid.correct());            // exits right at coarse, the others right at fine
        assertEquals((1 + 4 + 1 + 4) / 4.0, mid.avgGflops(), 1e-12);
        assertEquals(0.5, mid.exitShare(), 1e-12);
        CfVitSweep.SweepPoint none = CfVitSweep.sweep(o, CfVitSweep.ALWAYS_FINE, coarse, fine);
        assertEquals(0, none.exited());
        assertEquals(3, none.correct());
        assertEquals(4, none.agreeAlwaysFine());
        assertEquals(4.0, none.avgGflops(), 1e-12);
        // The engine compares the float probability with the double threshold: 0.95f is just below 0.95.
        assertEquals(3, o.get(2).top1(0.95));
        assertEquals(2, o.get(2).top1(0.95f));
    }

    @Test
    void namesAndHelpers() {
        assertEquals("0 (coarse only)", CfVitSweep.thresholdName(0));
        assertEquals("0.5", CfVitSweep.thresholdName(0.5));
        assertEquals("1", CfVitSweep.thresholdName(1));
        assertEquals("1.01 (always fine)", CfVitSweep.thresholdName(1.01));
        assertArrayEquals(new int[] {2, 0}, CfVitSweep.argmaxRows(new float[] {0, 1, 3, 5, -1, 2}, 3));
        Tensor a = Tensor.ofFloats(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
        Tensor b = Tensor.ofFloats(new float[] {5, 6, 7, 8}, 1, 1, 2, 2);
        Tensor s = CfVitSweep.stack(List.of(a, b, a), 1, 3);
        assertArrayEquals(new long[] {2, 1, 2, 2}, s.shape().dims());
        assertArrayEquals(new float[] {5, 6, 7, 8, 1, 2, 3, 4}, s.toFloatArray());
    }
}
