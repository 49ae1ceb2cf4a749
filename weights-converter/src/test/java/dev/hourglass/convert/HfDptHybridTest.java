package dev.hourglass.convert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.model.DptConfig;
import dev.hourglass.safetensors.SafetensorsWriter;
import dev.hourglass.tensor.Tensor;
import dev.hourglass.vit.ResNetNames;

/**
 * Hugging Face's DPT-Hybrid ({@code dpt.embeddings.backbone.bit.*}, {@link HfDptHybrid}) on a tiny random folder
 * written here: its BiT names land on the canonical ResNet, its convolutions are standardised with BiT's rule, and a
 * {@code config.json} field that would make transformers compute something else is refused in one line naming it.
 * (The golden test against transformers' numbers is {@code DptHfHybridGoldenTest} in tasks.)
 */
class HfDptHybridTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BIT = HfDptHybrid.PREFIX;
    /** Token width, blocks, MLP width, image size (a 2x2 token grid at stride 16). */
    private static final int D = 32;
    private static final int DEPTH = 2;
    private static final int MLP = 64;
    private static final int IMAGE = 32;
    /** The ResNet: stem width, bottleneck width, stage width (GroupNorm's groups are the engine's to check). */
    private static final int STEM = 8;
    private static final int MID = 4;
    private static final int OUT = 16;
    private static final int FUSION = 4;

    @TempDir
    Path tmp;

    @Test
    void bitNamesAreTimmsResNetNames() {
        assertEquals("stem.conv.weight", HfDptHybrid.timmName("embedder.convolution.weight"));
        assertEquals("stem.norm.bias", HfDptHybrid.timmName("embedder.norm.bias"));
        assertEquals("stages.2.blocks.5.downsample.conv.weight",
                HfDptHybrid.timmName("encoder.stages.2.layers.5.downsample.conv.weight"));
        assertEquals("stages.0.blocks.0.norm3.weight", HfDptHybrid.timmName("encoder.stages.0.layers.0.norm3.weight"));
        assertNull(HfDptHybrid.timmName("norm.weight"), "a pre-activation BiT's final norm has no place here");
        assertNull(HfDptHybrid.timmName("embedder.pooler.weight"));
    }

    @Test
    void convertsOntoTheCanonicalHybrid() throws IOException {
        Path folder = folder(cfg -> { });
        try (ConvertedModel c = Converter.open(folder, ConvertOptions.NONE)) {
            assertEquals("hf-dpt", c.layout());
            assertEquals(List.of(BIT + "embedder.convolution.weight"), c.sources().get("hybrid.stem.conv.weight"));
            assertEquals(List.of(BIT + "embedder.norm.weight"), c.sources().get("hybrid.stem.norm.weight"));
            for (int s = 0; s < 3; s++) {
                String unit = ResNetNames.unit(s, 0);
                String bit = BIT + "encoder.stages." + s + ".layers.0.";
                for (String leaf : List.of("conv1.weight", "conv2.weight", "conv3.weight", "norm1.weight",
                        "norm2.bias", "norm3.weight", "downsample.conv.weight", "downsample.norm.bias")) {
                    assertEquals(List.of(bit + leaf), c.sources().get(unit + "." + leaf), unit + "." + leaf);
                }
            }
            assertEquals(List.of("dpt.embeddings.projection.bias"), c.sources().get("patch_embed.proj.bias"));
            assertEquals(List.of("dpt.embeddings.position_embeddings"), c.sources().get("pos_embed"));
            assertEquals(List.of("neck.reassemble_stage.layers.3.resize.weight"),
                    c.sources().get("dpt.act_postprocess4.4.weight"));
            assertEquals(List.of("neck.convs.1.weight"), c.sources().get("dpt.scratch.layer2_rn.weight"));
            assertEquals(1e-12f, c.config().encoder().normEps());
            assertEquals(16, c.config().encoder().patchSize());
            DptConfig d = c.config().decoder(DptConfig.class);
            assertEquals(DptConfig.Backbone.HYBRID, d.backbone());
            assertArrayEquals(new int[] {0, 1, 0, 1}, d.hooks());
            assertArrayEquals(new int[] {OUT, OUT, 8, 8}, d.features());
            assertTrue(c.config().inferred().stream().anyMatch(n -> n.contains("sqrt(var + 1.0E-8)")),
                    c.config().inferred().toString());
        }
    }

    /** (w - mean) / sqrt(var + 1e-8) per output channel; on weights of std ~1e-3 that is 0.5 % from eps-free. */
    @Test
    void convolutionsAreStandardisedWithBitsRule() throws IOException {
        Path folder = folder(cfg -> { });
        try (ConvertedModel c = Converter.open(folder, ConvertOptions.NONE)) {
            for (String leaf : List.of("stem.conv.weight", "stages.1.blocks.0.conv2.weight",
                    "stages.2.blocks.0.downsample.conv.weight")) {
                String raw = c.sources().get("hybrid." + leaf).get(0);
                float[] w = c.checkpoint().tensors().tensor(raw).toFloatArray();
                Tensor got = c.tensor("hybrid." + leaf);
                assertEquals("F32", c.info("hybrid." + leaf).orElseThrow().dtype());
                float[] s = got.toFloatArray();
                int per = w.length / got.shape().intDim(0);
                for (int o = 0; o < w.length / per; o++) {
                    double mean = 0;
                    for (int i = o * per; i < (o + 1) * per; i++) {
                        mean += w[i];
                    }
                    mean /= per;
                    double var = 0;
                    for (int i = o * per; i < (o + 1) * per; i++) {
                        var += (w[i] - mean) * (w[i] - mean);
                    }
                    var /= per;
                    for (int i = o * per; i < (o + 1) * per; i++) {
                        double bit = (w[i] - mean) / Math.sqrt(var + 1e-8);
                        double timm = (w[i] - mean) / (Math.sqrt(var) + 1e-5);
                        assertEquals(bit, s[i], 1e-6 * Math.max(1, Math.abs(bit)), leaf + " [" + i + "]");
                        assertTrue(Math.abs(bit - timm) > 10 * Math.abs(bit - s[i]) || Math.abs(bit) < 1e-3,
                                leaf + " [" + i + "]: the rules must be told apart");
                    }
                }
            }
            assertArrayEquals(c.checkpoint().tensors().tensor(BIT + "embedder.norm.bias").toFloatArray(),
                    c.tensor("hybrid.stem.norm.bias").toFloatArray(), "GroupNorm parameters are only renamed");
        }
    }

    @Test
    void defaultsStandInForAbsentFieldsAsTransformersDoes() throws IOException {
        Path folder = folder(cfg -> {
            ObjectNode bit = (ObjectNode) cfg.get("backbone_config");
            for (String field : List.of("hidden_act", "num_groups", "output_stride", "out_features")) {
                bit.remove(field);
            }
            for (String field : List.of("readout_type", "neck_ignore_stages", "reassemble_factors", "patch_size")) {
                cfg.remove(field);
            }
            cfg.putArray("backbone_out_indices").add(7).add(9).add(1).add(0);
        });
        try (ConvertedModel c = Converter.open(folder, ConvertOptions.NONE)) {
            // out_indices [1, 2, 3] stand for out_features; [2:] = [1, 0] is taken in block order.
            assertArrayEquals(new int[] {0, 1, 0, 1}, c.config().decoder(DptConfig.class).hooks());
            assertTrue(c.config().inferred().stream().anyMatch(n -> n.contains("taps blocks 0 and 1")
                    && n.contains("[7,9,1,0]")), c.config().inferred().toString());
        }
    }

    @Test
    void absentBackboneConfigIsDptConfigsDefaultBit() throws IOException {
        Path folder = folder(cfg -> cfg.putNull("backbone_config"));
        try (ConvertedModel c = Converter.open(folder, ConvertOptions.NONE)) {
            assertTrue(c.config().inferred().stream().anyMatch(n -> n.contains("DPTConfig's default BiT")),
                    c.config().inferred().toString());
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "is_hybrid=false|config.json: is_hybrid must be true for weights with dpt.embeddings.backbone.bit.*"
            + " (transformers builds a plain DPT otherwise), got \"false\"",
        "-is_hybrid|config.json: is_hybrid must be true for weights with dpt.embeddings.backbone.bit.*"
            + " (transformers builds a plain DPT otherwise), got nothing",
        "backbone_config=null backbone=\"resnet50\"|config.json: backbone \"resnet50\" names a backbone to load",
        "backbone_config=\"bit\"|config.json: backbone_config must be an object (BitConfig's fields), got \"bit\"",
        "backbone_config.layer_type=\"preactivation\"|config.json: backbone_config.layer_type must be \"bottleneck\""
            + " (the non-pre-activation ResNet of DPT-Hybrid; BitConfig's default is \"preactivation\"), got"
            + " \"preactivation\"",
        "-backbone_config.layer_type|config.json: backbone_config.layer_type must be \"bottleneck\"",
        "backbone_config.global_padding=\"VALID\"|config.json: backbone_config.global_padding must be \"SAME\""
            + " (TensorFlow's padding, which the ResNet stem runs; BitConfig's default null pads as PyTorch does),"
            + " got \"VALID\"",
        "backbone_config.global_padding=null|config.json: backbone_config.global_padding must be \"SAME\"",
        "-backbone_config.embedding_dynamic_padding|config.json: backbone_config.embedding_dynamic_padding must be"
            + " true (the stem's max-pool padded 'SAME'; BitConfig's default false pools without padding), got"
            + " nothing",
        "backbone_config.hidden_act=\"gelu\"|config.json: backbone_config.hidden_act must be \"relu\" (the ResNet's"
            + " activation), got \"gelu\"",
        "backbone_config.num_groups=16|config.json: backbone_config.num_groups must be 32 (the ResNet stem's"
            + " GroupNorm), got \"16\"",
        "backbone_config.output_stride=8|config.json: backbone_config.output_stride must be above 8 (at 8 or below"
            + " BiT dilates stage 2 instead of striding it, which the ResNet stem does not), got \"8\"",
        "backbone_config.out_features=[\"stage2\",\"stage3\"]|config.json: backbone_config.out_features must be"
            + " [\"stage1\", \"stage2\", \"stage3\"]",
        "-backbone_config.out_features -backbone_config.out_indices|config.json: backbone_config.out_features must"
            + " be [\"stage1\", \"stage2\", \"stage3\"] (or out_indices [1, 2, 3]: DPT-Hybrid taps stages 1 and 2 and"
            + " embeds the third; BitConfig's default is the last stage alone), got nothing",
        "readout_type=\"ignore\"|config.json: readout_type must be \"project\"",
        "neck_ignore_stages=[]|config.json: neck_ignore_stages must be [0, 1] for a DPT-Hybrid",
        "reassemble_factors=[4,2,2,0.5]|config.json: reassemble_factors must be 4 numbers whose last two are 1 and"
            + " 0.5",
        "patch_size=8|config.json: patch_size must be the ResNet's total stride 16",
        "backbone_out_indices=[0,1,1,1]|config.json: backbone_out_indices[2] and [3] must be two different blocks",
        "backbone_out_indices=[0,1,0,2]|config.json: backbone_out_indices[3] must be a block of the encoder's 2, got"
            + " \"2\"",
        "backbone_out_indices=[0,1,2]|config.json: backbone_out_indices must be 4 block indices",
        "-backbone_out_indices|config.json: backbone_out_indices[2] must be a block of the encoder's 2, got 8"
            + " (DPTConfig's default [2, 5, 8, 11])",
    })
    void configFieldsThatChangeTheModelAreRefusedByName(String edit, String message) throws IOException {
        Path folder = folder(cfg -> apply(cfg, edit));
        IOException e = assertThrows(IOException.class, () -> Converter.open(folder, ConvertOptions.NONE).close());
        assertTrue(e.getMessage().startsWith("model.safetensors (hf-dpt layout): ") && e.getMessage().contains(message)
                && !e.getMessage().contains("\n"), e.getMessage());
    }

    /**
     * Every hybrid field set to each value of a list of awkward JSON values: the folder is converted (its
     * configuration one the engine reads back) or refused with an IOException in one line, never anything else.
     */
    @Test
    void anyValueOfAHybridFieldIsConvertedOrRefusedInOneLine() throws IOException {
        List<String> fields = List.of("is_hybrid", "backbone", "backbone_config", "backbone_config.layer_type",
                "backbone_config.global_padding", "backbone_config.embedding_dynamic_padding",
                "backbone_config.hidden_act", "backbone_config.num_groups", "backbone_config.output_stride",
                "backbone_config.out_features", "backbone_config.out_indices", "readout_type", "neck_ignore_stages",
                "reassemble_factors", "patch_size", "backbone_out_indices", "layer_norm_eps", "image_size");
        List<String> values = List.of("null", "true", "\"x\"", "\"\"", "[]", "{}", "-1", "0", "16", "32", "0.5",
                "1e400", "2147483648", "[1, 2, 3]", "[0, 1, 0, 1]", "[\"stage1\", 2, null]", "{\"a\": [1]}",
                "\"SAME\"", "\"bottleneck\"", "\"relu\"", "\"project\"");
        int converted = 0;
        int refused = 0;
        for (String field : fields) {
            for (String value : values) {
                Path folder = folder(cfg -> apply(cfg, field + "=" + value));
                try (ConvertedModel c = Converter.open(folder, ConvertOptions.NONE)) {
                    dev.hourglass.model.ModelConfig.fromJson(c.config().toJson(), field + "=" + value);
                    converted++;
                } catch (IOException e) {
                    assertTrue(!e.getMessage().contains("\n") && e.getMessage().startsWith("model.safetensors"),
                            field + "=" + value + ": " + e.getMessage());
                    refused++;
                }
                deleteFolder(folder);
            }
        }
        assertTrue(converted > 0 && refused > 0, converted + " converted, " + refused + " refused");
    }

    private static void deleteFolder(Path folder) throws IOException {
        try (var files = Files.list(folder)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(folder);
    }

    @Test
    void missingConfigIsRefused() throws IOException {
        Path folder = folder(cfg -> { });
        Files.delete(folder.resolve("config.json"));
        IOException e = assertThrows(IOException.class,
                () -> Converter.open(folder, new ConvertOptions(null, 2, null)).close());
        assertTrue(e.getMessage().contains("config.json: missing; a Hugging Face DPT-Hybrid's backbone settings are"
                + " only there"), e.getMessage());
    }

    /** {@code -a.b} removes field b of object a; {@code a.b=JSON} sets it; several edits are separated by spaces. */
    private static void apply(ObjectNode cfg, String edits) {
        for (String edit : edits.split(" (?=-|[a-z_.]+=)")) {
            boolean remove = edit.startsWith("-");
            String path = remove ? edit.substring(1) : edit.substring(0, edit.indexOf('='));
            ObjectNode parent = cfg;
            String[] parts = path.split("\\.");
            for (int i = 0; i < parts.length - 1; i++) {
                parent = (ObjectNode) parent.get(parts[i]);
            }
            String field = parts[parts.length - 1];
            if (remove) {
                parent.remove(field);
            } else {
                try {
                    parent.set(field, JSON.readTree(edit.substring(edit.indexOf('=') + 1)));
                } catch (IOException ex) {
                    throw new IllegalArgumentException(edit, ex);
                }
            }
        }
    }

    /** A tiny Hugging Face DPT-Hybrid folder: model.safetensors and config.json (edited by {@code edit}). */
    private Path folder(Consumer<ObjectNode> edit) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "hf_hybrid");
        Random random = new Random(14);
        SafetensorsWriter w = new SafetensorsWriter();
        // The ResNet's convolutions at std ~1e-3, where BiT's eps and timm's differ visibly.
        add(w, random, 1e-3, BIT + "embedder.convolution.weight", STEM, 3, 7, 7);
        norm(w, random, BIT + "embedder.norm", STEM);
        int in = STEM;
        for (int s = 0; s < 3; s++) {
            String u = BIT + "encoder.stages." + s + ".layers.0.";
            add(w, random, 1e-3, u + "conv1.weight", MID, in, 1, 1);
            norm(w, random, u + "norm1", MID);
            add(w, random, 1e-3, u + "conv2.weight", MID, MID, 3, 3);
            norm(w, random, u + "norm2", MID);
            add(w, random, 1e-3, u + "conv3.weight", OUT, MID, 1, 1);
            norm(w, random, u + "norm3", OUT);
            add(w, random, 1e-3, u + "downsample.conv.weight", OUT, in, 1, 1);
            norm(w, random, u + "downsample.norm", OUT);
            in = OUT;
        }
        add(w, random, 0.1, "dpt.embeddings.projection.weight", D, OUT, 1, 1);
        add(w, random, 0.1, "dpt.embeddings.projection.bias", D);
        add(w, random, 0.1, "dpt.embeddings.cls_token", 1, 1, D);
        add(w, random, 0.1, "dpt.embeddings.position_embeddings", 1, 1 + (IMAGE / 16) * (IMAGE / 16), D);
        for (int i = 0; i < DEPTH; i++) {
            String l = "dpt.encoder.layer." + i + ".";
            norm(w, random, l + "layernorm_before", D);
            norm(w, random, l + "layernorm_after", D);
            for (String p : List.of("attention.attention.query", "attention.attention.key",
                    "attention.attention.value", "attention.output.dense")) {
                add(w, random, 0.1, l + p + ".weight", D, D);
                add(w, random, 0.1, l + p + ".bias", D);
            }
            add(w, random, 0.1, l + "intermediate.dense.weight", MLP, D);
            add(w, random, 0.1, l + "intermediate.dense.bias", MLP);
            add(w, random, 0.1, l + "output.dense.weight", D, MLP);
            add(w, random, 0.1, l + "output.dense.bias", D);
        }
        norm(w, random, "dpt.layernorm", D);
        int[] features = {OUT, OUT, 8, 8};
        for (int k = 2; k < 4; k++) {
            String r = "neck.reassemble_stage.";
            add(w, random, 0.1, r + "readout_projects." + k + ".0.weight", D, 2 * D);
            add(w, random, 0.1, r + "readout_projects." + k + ".0.bias", D);
            add(w, random, 0.1, r + "layers." + k + ".projection.weight", features[k], D, 1, 1);
            add(w, random, 0.1, r + "layers." + k + ".projection.bias", features[k]);
        }
        add(w, random, 0.1, "neck.reassemble_stage.layers.3.resize.weight", 8, 8, 3, 3);
        add(w, random, 0.1, "neck.reassemble_stage.layers.3.resize.bias", 8);
        for (int k = 0; k < 4; k++) {
            add(w, random, 0.1, "neck.convs." + k + ".weight", FUSION, features[k], 3, 3);
            String f = "neck.fusion_stage.layers." + k + ".";
            add(w, random, 0.1, f + "projection.weight", FUSION, FUSION, 1, 1);
            add(w, random, 0.1, f + "projection.bias", FUSION);
            for (String unit : List.of("residual_layer1.", "residual_layer2.")) {
                for (String conv : List.of("convolution1.", "convolution2.")) {
                    add(w, random, 0.1, f + unit + conv + "weight", FUSION, FUSION, 3, 3);
                    add(w, random, 0.1, f + unit + conv + "bias", FUSION);
                }
            }
        }
        add(w, random, 0.1, "head.head.0.weight", FUSION / 2, FUSION, 3, 3);
        add(w, random, 0.1, "head.head.0.bias", FUSION / 2);
        add(w, random, 0.1, "head.head.2.weight", 32, FUSION / 2, 3, 3);
        add(w, random, 0.1, "head.head.2.bias", 32);
        add(w, random, 0.1, "head.head.4.weight", 1, 32, 1, 1);
        add(w, random, 0.1, "head.head.4.bias", 1);
        w.write(dir.resolve("model.safetensors"));
        ObjectNode cfg = config();
        edit.accept(cfg);
        Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
        return dir;
    }

    /** config.json as transformers writes a DPT-Hybrid's (the fields that matter here). */
    private static ObjectNode config() {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("DPTForDepthEstimation");
        c.put("model_type", "dpt");
        c.put("embedding_type", "hybrid");
        c.put("is_hybrid", true);
        c.put("hidden_size", D);
        c.put("num_hidden_layers", DEPTH);
        c.put("num_attention_heads", 2);
        c.put("intermediate_size", MLP);
        c.put("hidden_act", "gelu");
        c.put("layer_norm_eps", 1e-12);
        c.put("image_size", IMAGE);
        c.put("patch_size", 16);
        c.put("num_channels", 3);
        c.put("qkv_bias", true);
        c.putArray("backbone_out_indices").add(2).add(5).add(0).add(1);
        c.put("readout_type", "project");
        c.putArray("reassemble_factors").add(1).add(1).add(1).add(0.5);
        c.putArray("neck_hidden_sizes").add(OUT).add(OUT).add(8).add(8);
        c.put("fusion_hidden_size", FUSION);
        c.put("head_in_index", -1);
        c.put("use_batch_norm_in_fusion_residual", false);
        c.put("add_projection", false);
        c.putArray("backbone_featmap_shape").add(1).add(OUT).add(IMAGE / 16).add(IMAGE / 16);
        c.putArray("neck_ignore_stages").add(0).add(1);
        c.putNull("backbone");
        ObjectNode bit = c.putObject("backbone_config");
        bit.put("model_type", "bit");
        bit.put("layer_type", "bottleneck");
        bit.put("global_padding", "SAME");
        bit.put("embedding_dynamic_padding", true);
        bit.put("embedding_size", STEM);
        bit.putArray("hidden_sizes").add(OUT).add(OUT).add(OUT);
        bit.putArray("depths").add(1).add(1).add(1);
        bit.put("hidden_act", "relu");
        bit.put("num_groups", 32);
        bit.put("output_stride", 32);
        bit.put("width_factor", 1);
        bit.put("num_channels", 3);
        bit.put("drop_path_rate", 0.0);
        bit.putArray("out_features").add("stage1").add("stage2").add("stage3");
        bit.putArray("out_indices").add(1).add(2).add(3);
        bit.putArray("stage_names").add("stem").add("stage1").add("stage2").add("stage3");
        return c;
    }

    private static void norm(SafetensorsWriter w, Random random, String name, int channels) {
        float[] g = new float[channels];
        float[] b = new float[channels];
        for (int i = 0; i < channels; i++) {
            g[i] = 1 + 0.2f * (float) random.nextGaussian();
            b[i] = 0.1f * (float) random.nextGaussian();
        }
        w.add(name + ".weight", Tensor.ofFloats(g, channels));
        w.add(name + ".bias", Tensor.ofFloats(b, channels));
    }

    private static void add(SafetensorsWriter w, Random random, double scale, String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (scale * random.nextGaussian());
        }
        w.add(name, Tensor.ofFloats(v, shape));
    }
}
