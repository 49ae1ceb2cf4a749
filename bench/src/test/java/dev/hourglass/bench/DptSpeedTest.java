package dev.hourglass.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.hourglass.model.DptConfig;
import dev.hourglass.reduce.expedit.ExpeditSettings;

class DptSpeedTest {

    @Test
    void tinyPresetRunsAndReportsBothSettings(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("depth-speed.json");
        String text = DptSpeed.run(new String[] {"--preset", "tiny", "--model", dir.resolve("tiny.safetensors")
                .toString(), "--out", out.toString(), "--threads", "1", "--warmup", "0", "--iterations", "2",
                "--blocks", "2", "--size", "64", "--expedit", "alpha=2,grid=2x2", "--no-peak"});
        JsonNode r = new ObjectMapper().readTree(Files.readString(out));
        assertEquals(new ObjectMapper().readTree(text), r);
        assertEquals("alpha=2,grid=2x2,iters=5,window=5,tau=1.0,k=20,tau_r=1.0", r.path("expedit").asText());
        assertEquals("--no-peak", r.path("fma_peak").path("not_measured").asText());
        JsonNode f = r.path("flops");
        assertEquals(17, f.path("tokens_before_clustering").asInt());
        assertEquals(5, f.path("tokens_after_clustering").asInt());
        assertTrue(f.path("expedit_gflops").asDouble() < f.path("plain_gflops").asDouble(), f.toString());
        assertEquals(f.path("plain_gflops").asDouble(), f.path("gflops_by_part").path("blocks_plain").asDouble()
                + f.path("gflops_by_part").path("embedding_neck_and_head").asDouble(), 2e-3);
        JsonNode run = r.path("runs").get(0);
        assertEquals(1, run.path("threads").asInt());
        assertEquals(2, run.path("plain").path("samples").asInt());
        assertEquals(2, run.path("expedit_ms_in_call_order").size());
        assertTrue(run.path("plain").path("median_ms").asDouble() > 0);
        assertTrue(run.path("ratio_plain_to_expedit").asDouble() > 0);
        double r2 = run.path("depth_agreement_with_plain").path("correlation").asDouble(Double.NaN);
        assertTrue(r2 >= -1 && r2 <= 1, run.toString());
    }

    @Test
    void expeditKeysOverThePresetsSettings() {
        ExpeditSettings d = DptSpeed.defaultExpedit("dpt-large");
        assertEquals(new ExpeditSettings(10, 16, 16, 5, 5, 1.0f, 20, 1.0f), d);
        assertEquals(d, DptSpeed.expedit("", d));
        ExpeditSettings e = DptSpeed.expedit("alpha=7, grid=24x24", d);
        assertEquals(7, e.alpha());
        assertEquals(576, e.clusters());
        assertEquals(1.0f, e.tau(), "tau stays DPT's, not Segmenter's 0.02");
        assertEquals(5, DptSpeed.defaultExpedit("dpt-hybrid").alpha(), "KITTI: after 0-based block 4");
        assertThrows(IllegalArgumentException.class, () -> DptSpeed.expedit("alpha", d));
        assertThrows(IllegalArgumentException.class, () -> DptSpeed.expedit("beta=3", d));
    }

    @Test
    void presetsAreDptsPublishedShapes() {
        var large = DptSpeed.preset("dpt-large");
        assertEquals(24, large.encoder().depth());
        assertEquals(1024, large.encoder().embedDim());
        DptConfig dpt = large.decoder(DptConfig.class);
        assertEquals(java.util.List.of(5, 11, 17, 23), java.util.Arrays.stream(dpt.hooks()).boxed().toList());
        assertEquals(DptConfig.Readout.PROJECT, dpt.readout());
        assertEquals(DptConfig.Backbone.HYBRID, DptSpeed.preset("dpt-hybrid").decoder(DptConfig.class).backbone());
        assertThrows(IllegalArgumentException.class, () -> DptSpeed.preset("dpt-base"));
    }

    @Test
    void agreementIsOneForAScaledAndShiftedCopy() {
        float[] plain = {0, 1, 2, 3, 4, 5};
        float[] other = new float[plain.length];
        for (int i = 0; i < plain.length; i++) {
            other[i] = 2 * plain[i] + 1;
        }
        DptSpeed.Agreement a = DptSpeed.agreement(plain, other);
        assertEquals(1, a.correlation(), 1e-12);
        assertEquals(0, a.alignedRelativeRmse(), 1e-12);
        assertEquals(0.5, a.scale(), 1e-12);
        assertEquals(-0.5, a.shift(), 1e-12);
        assertEquals(1.0 / 6, a.plainZeroShare(), 1e-12);
        assertTrue(a.relativeRmse() > 1);
    }
}
