package dev.hourglass.tornado;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.Buffer;
import org.junit.jupiter.api.Assumptions;

import java.util.Optional;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared by the TornadoVM tests: the availability check, random data and the comparison with the CPU backend. */
final class TornadoTestSupport {
    private TornadoTestSupport() {
    }

    /**
     * Skips (visibly, with the reason) when the test JVM has no TornadoVM runtime, and checks that TornadoVM's
     * fallback to plain Java is off: with it on, a kernel that fails to compile would pass by running on the host.
     */
    static void requireTornado() {
        Optional<String> reason = new TornadoBackendProvider().unavailableReason();
        Assumptions.assumeTrue(reason.isEmpty(), () -> "TornadoVM tests not run: " + reason.orElse(""));
        assertEquals("False", System.getProperty("tornado.recover.bailout"),
                "the tests must run with -Dtornado.recover.bailout=False (see tornado-kernels/pom.xml)");
    }

    static float[] random(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    static float[] download(Backend b, Buffer buf, int count) {
        float[] out = new float[count];
        b.download(buf, 0, out, 0, count);
        return out;
    }

    /** {@code max |expected - actual| <= tol * max(1, max |expected|)}, reporting where it is worst. */
    static void assertClose(String what, float[] expected, float[] actual, double tol) {
        double scale = 1;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        assertMaxAbs(what, expected, actual, tol * scale);
    }

    /** {@code max |expected - actual| <= tol}, reporting where it is worst; returns the max-abs difference. */
    static double assertMaxAbs(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 1;
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        if (Double.isNaN(worst) || worst > tol * scale) {
            fail(what + ": max-abs " + worst + " at " + at + " (expected " + expected[at] + ", got " + actual[at]
                    + "), allowed " + tol * scale);
        }
        assertTrue(worst <= tol * scale);
        return worst;
    }
}
