package dev.hourglass.reduce.cfvit;

import java.io.IOException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.model.DecoderConfig;
import dev.hourglass.vit.VitVariant;

/**
 * A CF-ViT checkpoint's own settings (ALGORITHMS.md §3.8): the model file's {@code decoder} object for families
 * {@code cfvit} and {@code lvvit} (and {@code cfvit} in a test fixture's config).
 *
 * <pre>{@code
 * { "coarse_grid": [7, 7], "fine_grid": [14, 14], "reuse_mlp_hidden": 1536, "reuse_norm_eps": 1e-6,
 *   "ema_beta": 0.99, "ema_from_block": 3, "split_fraction": 0.5,
 *   "skip_lam": 2.0, "aux_head": true }        (LV-ViT only)
 * }</pre>
 *
 * <p>{@link #toJson()} and {@link #fromJson} are the only code that writes and reads this object. Immutable, so safe
 * to share between threads.
 *
 * @param coarseGrid    tokens per side of the coarse stage (7 or 9)
 * @param fineGrid      tokens per side of the fine stage (twice the coarse)
 * @param reuseHidden   width of the feature-reuse MLP's hidden layer
 * @param reuseNormEps  the feature-reuse LayerNorm's epsilon (1e-6 for DeiT)
 * @param emaBeta       the global class attention's decay (0.99)
 * @param emaFromBlock  the first block (0-based) whose attention enters the global class attention (3)
 * @param splitFraction the share of coarse tokens re-split into four fine ones (α = 0.5)
 * @param backbone      the transformer's family: DeiT's ({@link VitVariant#TIMM}) or LV-ViT's (its convolutional stem
 *                      and {@code skip_lam})
 * @param auxHead       whether the model has LV-ViT's token-labelling head ({@code aux_head}), whose maximum over the
 *                      patch tokens joins the class token's logits (see {@link CfVit})
 */
public record CfVitSettings(int coarseGrid, int fineGrid, int reuseHidden, float reuseNormEps, double emaBeta,
                            int emaFromBlock, double splitFraction, VitVariant backbone, boolean auxHead)
        implements DecoderConfig {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** DeiT-style settings (no stem, no residual scale, no auxiliary head). */
    public CfVitSettings(int coarseGrid, int fineGrid, int reuseHidden, float reuseNormEps, double emaBeta,
                         int emaFromBlock, double splitFraction) {
        this(coarseGrid, fineGrid, reuseHidden, reuseNormEps, emaBeta, emaFromBlock, splitFraction, VitVariant.TIMM,
                false);
    }

    public CfVitSettings {
        if (coarseGrid < 1 || fineGrid != 2 * coarseGrid) {
            throw new IllegalArgumentException("cfvit: the fine grid (" + fineGrid + ") must be twice the coarse grid ("
                    + coarseGrid + ")");
        }
        if (!(splitFraction > 0 && splitFraction <= 1)) {
            throw new IllegalArgumentException("cfvit: split_fraction must be in (0, 1], got " + splitFraction);
        }
        if (backbone == null) {
            throw new IllegalArgumentException("cfvit: the backbone is missing");
        }
        if (!(emaBeta >= 0 && emaBeta < 1) || emaFromBlock < 0 || reuseHidden < 1) {
            throw new IllegalArgumentException("cfvit: bad settings ema_beta=" + emaBeta + " ema_from_block="
                    + emaFromBlock + " reuse_mlp_hidden=" + reuseHidden);
        }
    }

    /** Coarse tokens re-split into fine ones: {@code ceil(α N_c)}. */
    public int splitTokens() {
        int n = coarseGrid * coarseGrid;
        return (int) Math.ceil(splitFraction * n);
    }

    /** Whether these are CF-LV-ViT's settings (LV-ViT's stem, {@code skip_lam} and {@code aux_head}). */
    public boolean lvvit() {
        return backbone.stem() == VitVariant.Stem.LVVIT;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode d = NODES.objectNode();
        d.putArray("coarse_grid").add(coarseGrid).add(coarseGrid);
        d.putArray("fine_grid").add(fineGrid).add(fineGrid);
        d.put("reuse_mlp_hidden", reuseHidden);
        // The float's shortest decimal (1e-6), as the converter has always written it.
        d.put("reuse_norm_eps", Double.parseDouble(Float.toString(reuseNormEps)));
        d.put("ema_beta", emaBeta);
        d.put("ema_from_block", emaFromBlock);
        d.put("split_fraction", splitFraction);
        if (lvvit()) {
            d.put("skip_lam", (double) backbone.skipLam());
            d.put("aux_head", auxHead);
        }
        return d;
    }

    /**
     * Reads {@link #toJson()}'s object for a CF-ViT on DeiT or (with {@code lvvit}) on LV-ViT, which adds
     * {@code skip_lam} and {@code aux_head}; a missing or malformed field is an error naming it.
     *
     * @param where the file and object, e.g. {@code "cf.safetensors: hourglass.config: decoder"}
     * @throws IOException {@code where.field must be ..., got value}
     */
    public static CfVitSettings fromJson(JsonNode node, boolean lvvit, String where) throws IOException {
        if (node == null || !node.isObject()) {
            throw new IOException(where + " must be CF-ViT's settings (coarse_grid, fine_grid, reuse_mlp_hidden,"
                    + " ...), got " + node);
        }
        int coarse = side(node, "coarse_grid", where);
        int fine = side(node, "fine_grid", where);
        try {
            VitVariant backbone = VitVariant.TIMM;
            boolean aux = false;
            if (lvvit) {
                backbone = VitVariant.lvvit((float) number(node, "skip_lam", where));
                JsonNode a = node.get("aux_head");
                if (a == null || !a.isBoolean()) {
                    throw new IOException(where + ".aux_head must be true or false, got " + a);
                }
                aux = a.asBoolean();
            }
            return new CfVitSettings(coarse, fine, integer(node, "reuse_mlp_hidden", where),
                    (float) number(node, "reuse_norm_eps", where), number(node, "ema_beta", where),
                    integer(node, "ema_from_block", where), number(node, "split_fraction", where), backbone, aux);
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": " + e.getMessage(), e);
        }
    }

    private static int side(JsonNode node, String field, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isArray() || v.size() != 2 || !v.get(0).canConvertToInt()
                || v.get(0).asInt() != v.get(1).asInt()) {
            throw new IOException(where + "." + field + " must be [n, n], got " + v);
        }
        return v.get(0).asInt();
    }

    private static int integer(JsonNode node, String field, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.canConvertToInt()) {
            throw new IOException(where + "." + field + " must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static double number(JsonNode node, String field, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isNumber()) {
            throw new IOException(where + "." + field + " must be a number, got " + v);
        }
        return v.asDouble();
    }
}
