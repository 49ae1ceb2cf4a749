package dev.hourglass.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

class DptConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String WHERE = "dpt.safetensors: hourglass.config: decoder";

    /** What the converter wrote before the backbone was recorded: hf_dpt's fixture, read as a plain ViT. */
    private static final String WRITTEN_BEFORE = "{\"hooks\":[0,1,2,3],\"readout\":\"project\",\"features\":[4,8,16,32],"
            + "\"fusion_features\":8,\"reassemble_factors\":[4,2,1,0.5],\"head\":\"depth\",\"use_bn\":false}";

    @Test
    void readsFilesWrittenBeforeTheBackboneAsPlainVit() throws IOException {
        DptConfig c = DptConfig.fromJson(JSON.readTree(WRITTEN_BEFORE), WHERE);
        assertArrayEquals(new int[] {0, 1, 2, 3}, c.hooks());
        assertEquals(DptConfig.Readout.PROJECT, c.readout());
        assertArrayEquals(new int[] {4, 8, 16, 32}, c.features());
        assertEquals(8, c.fusionFeatures());
        assertArrayEquals(new double[] {4, 2, 1, 0.5}, c.reassembleFactors());
        assertEquals(DptConfig.Head.DEPTH, c.head());
        assertEquals(false, c.useBatchNorm());
        assertEquals(DptConfig.Backbone.VIT, c.backbone());
        assertEquals(0, c.classes());
    }

    @Test
    void writesTheSameLayoutPlusTheBackboneAndReadsItBack() throws IOException {
        DptConfig c = DptConfig.fromJson(JSON.readTree(WRITTEN_BEFORE), WHERE);
        ObjectNode expected = (ObjectNode) JSON.readTree(WRITTEN_BEFORE);
        expected.put("backbone", "vit");
        assertEquals(expected, JSON.readTree(c.toJson().toString()));
        assertEquals(c, DptConfig.fromJson(c.toJson(), WHERE));

        DptConfig seg = new DptConfig(new int[] {0, 1, 8, 11}, DptConfig.Readout.IGNORE, new int[] {256, 512, 768, 768},
                256, new double[] {4, 2, 1, 0.5}, DptConfig.Head.SEGMENTATION, true, DptConfig.Backbone.HYBRID, 150);
        ObjectNode json = seg.toJson();
        assertEquals("hybrid", json.get("backbone").asText());
        assertEquals(150, json.get("classes").asInt());
        assertEquals(seg, DptConfig.fromJson(json, WHERE));
        assertEquals(seg.hashCode(), DptConfig.fromJson(json, WHERE).hashCode());
    }

    @Test
    void aMetricOutputIsWrittenAndReadBackAndItsAbsenceIsRelativeDepth() throws IOException {
        DptConfig relative = DptConfig.fromJson(JSON.readTree(WRITTEN_BEFORE), WHERE);
        assertNull(relative.metric(), "missing = relative inverse depth");
        assertFalse(relative.toJson().has("metric"), "a relative model's JSON is what it always was");

        DptConfig kitti = relative.withMetric(new DptConfig.Metric(0.00006016, 0.00579));
        ObjectNode json = kitti.toJson();
        assertEquals(JSON.readTree("{\"scale\":0.00006016,\"shift\":0.00579}"), json.get("metric"));
        DptConfig back = DptConfig.fromJson(JSON.readTree(json.toString()), WHERE);
        assertEquals(kitti, back);
        assertEquals(kitti.hashCode(), back.hashCode());
        assertEquals(0.00006016, back.metric().scale(), 0.0, "the scale survives the text exactly");
        assertEquals(0.00579, back.metric().shift(), 0.0);
        assertNotEquals(relative, kitti);
    }

    @Test
    void aMalformedMetricIsNamedAndASegmentationHeadHasNone() throws IOException {
        String[][] cases = {
            {"0.5", WHERE + ".metric must be {\"scale\": number, \"shift\": number}, got 0.5"},
            {"{\"shift\":0.1}", WHERE + ".metric.scale must be a positive number, got null"},
            {"{\"scale\":0,\"shift\":0.1}", WHERE + ".metric.scale must be a positive number, got 0"},
            {"{\"scale\":-1e-4,\"shift\":0.1}", WHERE + ".metric.scale must be a positive number, got -1.0E-4"},
            {"{\"scale\":1e-4}", WHERE + ".metric.shift must be a finite number, got null"},
            {"{\"scale\":1e-4,\"shift\":\"0.1\"}", WHERE + ".metric.shift must be a finite number, got \"0.1\""},
        };
        for (String[] c : cases) {
            ObjectNode node = (ObjectNode) JSON.readTree(WRITTEN_BEFORE);
            node.set("metric", JSON.readTree(c[0]));
            assertEquals(c[1], assertThrows(IOException.class, () -> DptConfig.fromJson(node, WHERE), c[0])
                    .getMessage());
        }
        ObjectNode seg = (ObjectNode) JSON.readTree(WRITTEN_BEFORE);
        seg.put("head", "segmentation");
        seg.put("classes", 3);
        seg.set("metric", JSON.readTree("{\"scale\":1e-4,\"shift\":0.1}"));
        assertEquals(WHERE + ".metric must be absent for a segmentation head (a metric output is depth's), got"
                + " {\"scale\":1.0E-4,\"shift\":0.1}",
                assertThrows(IOException.class, () -> DptConfig.fromJson(seg, WHERE)).getMessage());
        seg.remove("metric");
        DptConfig segmentation = DptConfig.fromJson(seg, WHERE);
        assertEquals("dpt: a metric output needs a depth head, got a segmentation head",
                assertThrows(IllegalArgumentException.class,
                        () -> segmentation.withMetric(new DptConfig.Metric(1e-4, 0.1))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DptConfig.Metric(Double.NaN, 0.1));
        assertThrows(IllegalArgumentException.class, () -> new DptConfig.Metric(Double.POSITIVE_INFINITY, 0.1));
        assertThrows(IllegalArgumentException.class, () -> new DptConfig.Metric(1e-4, Double.NaN));
    }

    @Test
    void arraysAreCopiedInAndOut() {
        int[] hooks = {2, 5, 8, 11};
        DptConfig c = DptConfig.depth(hooks, DptConfig.Readout.ADD, new int[] {96, 192, 384, 768}, 256, false);
        hooks[0] = 99;
        c.hooks()[1] = 99;
        c.reassembleFactors()[0] = 99;
        assertArrayEquals(new int[] {2, 5, 8, 11}, c.hooks());
        assertArrayEquals(new double[] {4, 2, 1, 0.5}, c.reassembleFactors());
    }

    @Test
    void aMissingOrWrongFieldIsNamedWithItsValue() throws IOException {
        String[][] cases = {
            {"hooks", null, WHERE + ".hooks must be 4 integers, got null"},
            {"hooks", "[0,1,2]", WHERE + ".hooks must be 4 integers, got [0,1,2]"},
            {"hooks", "[0,-1,2,3]", WHERE + ".hooks[1] must be an integer of at least 0, got -1"},
            {"readout", "\"first\"", WHERE + ".readout must be one of ignore, add, project, got \"first\""},
            {"features", "[4,8,0,32]", WHERE + ".features[2] must be a positive integer, got 0"},
            {"fusion_features", null, WHERE + ".fusion_features must be a positive integer, got null"},
            {"reassemble_factors", "[4,2,1,0]", WHERE + ".reassemble_factors[3] must be a positive number, got 0"},
            {"head", "\"normals\"", WHERE + ".head must be one of depth, segmentation, got \"normals\""},
            {"use_bn", "1", WHERE + ".use_bn must be true or false, got 1"},
            {"backbone", "\"resnet\"", WHERE + ".backbone must be one of vit, hybrid, got \"resnet\""},
            {"classes", "3", WHERE + ".classes must be absent for a depth head, got 3"},
        };
        for (String[] c : cases) {
            ObjectNode node = (ObjectNode) JSON.readTree(WRITTEN_BEFORE);
            if (c[1] == null) {
                node.remove(c[0]);
            } else {
                node.set(c[0], JSON.readTree(c[1]));
            }
            IOException e = assertThrows(IOException.class, () -> DptConfig.fromJson(node, WHERE), c[0]);
            assertEquals(c[2], e.getMessage());
        }
        ObjectNode seg = (ObjectNode) JSON.readTree(WRITTEN_BEFORE);
        seg.put("head", "segmentation");
        assertEquals(WHERE + ".classes must be a positive integer, got null",
                assertThrows(IOException.class, () -> DptConfig.fromJson(seg, WHERE)).getMessage());
    }

    @Test
    void familiesAreParsedByTheirJsonNameAndUnknownOnesListTheKnown() throws IOException {
        for (ModelFamily f : ModelFamily.values()) {
            assertEquals(f, ModelFamily.parse(f.jsonName(), "m: family"));
        }
        assertEquals(ModelFamily.DPT, ModelFamily.parse("dpt", "m: family"));
        IOException e = assertThrows(IOException.class, () -> ModelFamily.parse("swin", "m.safetensors: family"));
        assertEquals("m.safetensors: family 'swin' is not a model family Hourglass knows (vit, deit, segmenter, dpt,"
                + " cfvit, lvvit)", e.getMessage());
    }
}
