package dev.hourglass.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.hourglass.model.ModelFamily;

/** The one way the tasks load a model: families refused by name, everything closed in order, also half-way. */
class LoadedModelTest {
    private static final String VIT = "dev/hourglass/demo/shapes-vit";
    private static final String SEGMENTER = "dev/hourglass/demo/shapes-segmenter";
    private static final LoadedModel.Task CLASSIFY = new LoadedModel.Task("Classifier",
            EnumSet.of(ModelFamily.VIT, ModelFamily.DEIT), "this task runs ViT and DeiT");

    @Test
    void aFamilyTheTaskDoesNotRunIsRefusedInOneLineBeforeAnythingLoads() {
        List<String> built = new ArrayList<>();
        IOException e = assertThrows(IOException.class, () -> LoadedModel.loadResource(SEGMENTER, new ModelOptions(1),
                CLASSIFY, m -> built.add(m.name())));
        assertEquals(SEGMENTER + " is a segmenter model; this task runs ViT and DeiT", e.getMessage());
        assertEquals(List.of(), built);
    }

    @Test
    void whatWasOwnedIsClosedLastFirstWhenLoadingFailsHalfWay() {
        List<String> closed = new ArrayList<>();
        IOException failure = new IOException("decoder tensor missing");
        IOException e = assertThrows(IOException.class, () -> LoadedModel.loadResource(VIT, new ModelOptions(1),
                CLASSIFY, m -> {
                    m.own(() -> closed.add("encoder"));
                    m.backend();
                    m.own(() -> closed.add("decoder"));
                    throw failure;
                }));
        // A resource is loaded from a temporary copy: the message names the resource.
        assertSame(failure, e.getCause());
        assertEquals(VIT + ": decoder tensor missing", e.getMessage());
        assertEquals(List.of("decoder", "encoder"), closed);
    }

    @Test
    void closeRefusesNewCallsThenClosesTheOwnedPartsOnce() throws IOException {
        List<String> closed = new ArrayList<>();
        LoadedModel model = LoadedModel.loadResource(VIT, new ModelOptions(1, "cpu"), CLASSIFY, m -> {
            assertEquals(ModelFamily.VIT, m.config().family());
            assertTrue(m.weights().contains("cls_token"));
            assertTrue(m.backendSummary().startsWith("backend: cpu"), m.backendSummary());
            m.own(() -> closed.add("weights"));
            return m;
        });
        assertThrows(IllegalStateException.class, model::weights, "the file is closed once the model is built");
        model.enter();
        model.exit();
        model.close();
        model.close();
        assertEquals(List.of("weights"), closed);
        IllegalStateException refused = assertThrows(IllegalStateException.class, model::enter);
        assertEquals("Classifier " + VIT + " is closed", refused.getMessage());
    }
}
