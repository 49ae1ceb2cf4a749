package dev.hourglass.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * {@code hourglass backends}: every backend and device, which one auto takes, and with {@code --probe} the measured
 * GFLOP/s; a backend whose probe fails is reported and skipped. The engine's test providers (a GPU-type "fake", a
 * CPU-type "fakecl", a "broken" one) come from the engine's test jar through the context class loader.
 */
class BackendsCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void listsTheCpuBackendAndItsDeviceAndSaysAutoTakesIt() throws IOException {
        CliRunner r = CliRunner.run("backends", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode list = JSON.readTree(r.out()).get("backends");
        JsonNode cpu = list.get(0);
        assertEquals("cpu", cpu.get("name").asText());
        assertTrue(cpu.get("auto").asBoolean());
        assertEquals("cpu", cpu.get("devices").get(0).get("type").asText());
        JsonNode tornado = list.get(list.size() - 1);
        assertEquals("tornado", tornado.get("name").asText());
        assertTrue(tornado.get("reason").asText().contains("TORNADOVM_HOME"), tornado.toString());
        CliRunner text = CliRunner.run("backends");
        assertTrue(text.out().startsWith("* cpu  priority 0, can run here"), text.out());
        assertTrue(text.out().contains("taken by --backend auto"), text.out());
    }

    @Test
    void probesEveryRunnableBackendAndSkipsOneThatFails() throws IOException {
        URL root = BackendsCommandTest.class.getClassLoader().getResource("fake-backends/");
        assertNotNull(root, "the engine's test resource fake-backends/ is missing");
        ClassLoader saved = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader withFakes = new URLClassLoader(new URL[] {root},
                BackendsCommandTest.class.getClassLoader())) {
            Thread.currentThread().setContextClassLoader(withFakes);
            CliRunner r = CliRunner.run("backends", "--probe", "--json", "--threads", "1");
            assertEquals(0, r.exitCode(), r.err());
            JsonNode list = JSON.readTree(r.out()).get("backends");
            JsonNode fakecl = list.get(0);
            assertEquals("fakecl", fakecl.get("name").asText());
            assertTrue(fakecl.get("not_auto_because").asText().contains("is a CPU"), fakecl.toString());
            assertTrue(fakecl.get("probe").has("error"), "its backend cannot compute: " + fakecl);
            JsonNode fake = list.get(1);
            assertTrue(fake.get("auto").asBoolean(), fake.toString());
            assertEquals("gpu", fake.get("devices").get(0).get("type").asText());
            JsonNode cpu = list.get(2);
            assertTrue(cpu.get("probe").get("gflops").asDouble() > 0, cpu.toString());
            CliRunner text = CliRunner.run("backends", "--probe", "--threads", "1");
            assertTrue(text.out().contains("probe failed, skipped: "), text.out());
            assertTrue(text.out().contains("GFLOP/s on ViT-B/16's fc1 GEMM"), text.out());
        } finally {
            Thread.currentThread().setContextClassLoader(saved);
        }
    }
}
