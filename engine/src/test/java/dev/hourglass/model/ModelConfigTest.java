package dev.hourglass.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.cfvit.CfVitSettings;
import dev.hourglass.vit.VitConfig;
import dev.hourglass.vit.VitVariant;

/** The family and the decoder of a model file are typed: read by one reader each, refused by name when wrong. */
class ModelConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String WHERE = "m.safetensors: hourglass.config";
    private static final VitConfig ENCODER = new VitConfig(32, 32, 8, 3, 32, 4, 2, 128, true, true, false, 0, 1e-6f,
            Resize.Mode.BICUBIC, false);

    /** The decoder the converter has always written for the demo Segmenter (its model file holds exactly this). */
    private static final String DEMO_SEGMENTER = "{\"type\":\"mask_transformer\",\"n_cls\":10,\"n_layers\":2,"
            + "\"d_model\":192,\"num_heads\":3,\"mlp_hidden\":768,\"norm_eps\":9.999999747378752E-6,"
            + "\"window_size\":256,\"window_stride\":256,\"image_size\":512}";

    private static ObjectNode file(ModelFamily family, String decoder) throws IOException {
        ObjectNode root = new ModelConfig(ModelFamily.VIT, ENCODER, null, null, null, null, null).toJson();
        root.put("family", family.jsonName());
        if (decoder != null) {
            root.set("decoder", JSON.readTree(decoder));
        }
        return root;
    }

    @Test
    void segmenterSettingsAreReadAndWrittenAsTheConverterAlwaysHas() throws IOException {
        ModelConfig c = ModelConfig.fromJson(file(ModelFamily.SEGMENTER, DEMO_SEGMENTER), WHERE);
        SegmenterDecoderConfig d = c.decoder(SegmenterDecoderConfig.class);
        assertEquals(new SegmenterDecoderConfig(10, 256, 256,
                new SegmenterDecoderConfig.MaskTransformer(2, 192, 3, 768, 1e-5f), 512), d);
        assertEquals(JSON.readTree(DEMO_SEGMENTER), JSON.readTree(d.toJson().toString()));
        assertEquals(10, c.classes(), "a dense decoder's classes are its own");
        assertEquals("mask-transformer decoder (2 blocks, width 192)", d.describe());

        SegmenterDecoderConfig linear = new SegmenterDecoderConfig(5, 48, 32, null, 0);
        ObjectNode json = linear.toJson();
        assertEquals(JSON.readTree("{\"type\":\"linear\",\"n_cls\":5,\"window_size\":48,\"window_stride\":32}"), json);
        assertEquals(linear, SegmenterDecoderConfig.fromJson(json, WHERE + ": decoder"));
        assertTrue(linear.linear());
    }

    @Test
    void aWrongSegmenterFieldIsNamedWithItsValue() throws IOException {
        String[][] cases = {
            {"type", "\"fpn\"", ": decoder.type \"fpn\" is not one Segmenter has (mask_transformer, linear)"},
            {"n_cls", "0", ": decoder.n_cls must be a positive integer, got 0"},
            {"window_stride", null, ": decoder.window_stride must be a positive integer, got null"},
            {"n_layers", "-1", ": decoder.n_layers must be an integer of at least 0, got -1"},
            {"mlp_hidden", "\"768\"", ": decoder.mlp_hidden must be a positive integer, got \"768\""},
            {"norm_eps", null, ": decoder.norm_eps must be a positive number, got null"},
            {"num_heads", "5", ": decoder.num_heads 5 does not divide d_model 192"},
            {"image_size", "0", ": decoder.image_size must be a positive integer, got 0"},
        };
        for (String[] c : cases) {
            ObjectNode root = file(ModelFamily.SEGMENTER, DEMO_SEGMENTER);
            ObjectNode d = (ObjectNode) root.get("decoder");
            if (c[1] == null) {
                d.remove(c[0]);
            } else {
                d.set(c[0], JSON.readTree(c[1]));
            }
            IOException e = assertThrows(IOException.class, () -> ModelConfig.fromJson(root, WHERE), c[0]);
            assertEquals(WHERE + c[2], e.getMessage());
        }
        IOException none = assertThrows(IOException.class,
                () -> ModelConfig.fromJson(file(ModelFamily.SEGMENTER, null), WHERE));
        assertTrue(none.getMessage().startsWith(WHERE + ": decoder must be Segmenter's decoder settings"),
                none.getMessage());
    }

    @Test
    void theFamilyIsOneOfTheKnownAndDecidesTheDecoder() throws IOException {
        ObjectNode unknown = file(ModelFamily.VIT, null);
        unknown.put("family", "swin");
        IOException e = assertThrows(IOException.class, () -> ModelConfig.fromJson(unknown, WHERE));
        assertEquals(WHERE + ": family 'swin' is not a model family Hourglass knows (vit, deit, segmenter, dpt, cfvit,"
                + " lvvit)", e.getMessage());

        ModelConfig vit = ModelConfig.fromJson(file(ModelFamily.VIT, null), WHERE);
        assertSame(ModelFamily.VIT, vit.family());
        assertNull(vit.decoder());
        assertEquals("vit", vit.toJson().get("family").asText());
        assertThrows(IllegalStateException.class, () -> vit.decoder(SegmenterDecoderConfig.class));
        IOException stray = assertThrows(IOException.class,
                () -> ModelConfig.fromJson(file(ModelFamily.DEIT, DEMO_SEGMENTER), WHERE));
        assertTrue(stray.getMessage().startsWith(WHERE + ": decoder must be absent for a deit model"),
                stray.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ModelConfig(ModelFamily.DPT, ENCODER, null, null,
                SegmenterDecoderConfig.fromJson(JSON.readTree(DEMO_SEGMENTER), "x"), null, null));
    }

    @Test
    void dptHooksMustBeBlocksOfTheEncoder() throws IOException {
        String dpt = "{\"hooks\":[0,1,2,4],\"readout\":\"project\",\"features\":[4,8,16,32],\"fusion_features\":8,"
                + "\"reassemble_factors\":[4,2,1,0.5],\"head\":\"depth\",\"use_bn\":false}";
        IOException e = assertThrows(IOException.class, () -> ModelConfig.fromJson(file(ModelFamily.DPT, dpt), WHERE));
        assertEquals(WHERE + ": decoder.hooks[3] must be a block of the encoder's 4, got 4", e.getMessage());
        ModelConfig ok = ModelConfig.fromJson(file(ModelFamily.DPT, dpt.replace("[0,1,2,4]", "[0,1,2,3]")), WHERE);
        assertEquals(DptConfig.Head.DEPTH, ok.decoder(DptConfig.class).head());
        assertEquals(ok, ModelConfig.fromJson(ok.toJson(), WHERE));
    }

    @Test
    void cfVitSettingsRoundTripAndNameTheirFields() throws IOException {
        CfVitSettings lv = new CfVitSettings(7, 14, 1152, 1e-5f, 0.99, 3, 0.5, VitVariant.lvvit(2f), true);
        ObjectNode json = lv.toJson();
        assertEquals(JSON.readTree("{\"coarse_grid\":[7,7],\"fine_grid\":[14,14],\"reuse_mlp_hidden\":1152,"
                + "\"reuse_norm_eps\":1.0E-5,\"ema_beta\":0.99,\"ema_from_block\":3,\"split_fraction\":0.5,"
                + "\"skip_lam\":2.0,\"aux_head\":true}"), json);
        assertEquals(lv, CfVitSettings.fromJson(json, true, "x"));
        json.remove("skip_lam");
        IOException e = assertThrows(IOException.class, () -> CfVitSettings.fromJson(json, true, WHERE + ": decoder"));
        assertEquals(WHERE + ": decoder.skip_lam must be a number, got null", e.getMessage());
    }
}
