package dev.hourglass.reduce.cfvit;

import java.io.IOException;

import com.fasterxml.jackson.databind.JsonNode;

import dev.hourglass.vit.VitVariant;

/**
 * A CF-ViT checkpoint's own settings (ALGORITHMS.md §3.8), as the converter writes them (the model file's
 * {@code decoder} object, or {@code cfvit} in a test fixture's config).
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
                            int emaFromBlock, double splitFraction, VitVariant backbone, boolean auxHead) {

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

    /**
     * Reads a DeiT-style CF-ViT's settings object; a missing or malformed field is an error naming it.
     *
     * @param where the file, for messages
     */
    public static CfVitSettings read(JsonNode node, String where) throws IOException {
        return read(node, false, where);
    }

    /**
     * Reads the settings object of a CF-ViT on DeiT or (with {@code lvvit}) on LV-ViT, which adds {@code skip_lam}
     * and {@code aux_head}; a missing or malformed field is an error naming it.
     *
     * @param where the file, for messages
     */
    public static CfVitSettings read(JsonNode node, boolean lvvit, String where) throws IOException {
        if (node == null || !node.isObject()) {
            throw new IOException(where + ": no CF-ViT settings (coarse_grid, fine_grid, reuse_mlp_hidden, ...)");
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
                    throw new IOException(where + ": cfvit.aux_head must be true or false, got " + a);
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
            throw new IOException(where + ": cfvit." + field + " must be [n, n], got " + v);
        }
        return v.get(0).asInt();
    }

    private static int integer(JsonNode node, String field, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.canConvertToInt()) {
            throw new IOException(where + ": cfvit." + field + " must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static double number(JsonNode node, String field, String where) throws IOException {
        JsonNode v = node.get(field);
        if (v == null || !v.isNumber()) {
            throw new IOException(where + ": cfvit." + field + " must be a number, got " + v);
        }
        return v.asDouble();
    }
}
