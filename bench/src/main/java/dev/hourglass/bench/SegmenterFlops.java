package dev.hourglass.bench;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.hourglass.model.SegmenterDecoderConfig;

import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.vit.VitConfig;

/**
 * Analytic FLOP count of one Segmenter window, with or without Expedit, as Hourglass computes it. FLOPs are
 * 2 x multiply-adds of the matrix products; LayerNorm, GELU, softmax, the resizes and the argmax are not counted
 * (as {@link VitConfig#flops}, with which the dense encoder agrees). Papers' "GFLOPs" for ViTs (and Expedit's
 * 658.98 / 443.84 for Segmenter ViT-L) are multiply-add counts: compare them with {@link Count#gmacs()}.
 *
 * <ul>
 *   <li>patch embedding: {@code 2 N (3 p²) D};
 *   <li>each encoder block at {@code T} tokens: qkv {@code 2 T D 3D}, attention {@code 2 · 2 T² D} (q kᵀ and p v),
 *       proj {@code 2 T D D}, fc1 and fc2 {@code 2 T D H} each; blocks 1..α at {@code P + N} tokens, the rest at
 *       {@code P + M} with Expedit ({@code P} prefix tokens, {@code N} patches, {@code M} clusters);
 *   <li>Expedit's clustering: per round, {@code 2 N λ² D} for the distances to the window's centres and as much for
 *       the weighted means (an upper bound: tokens near the border have fewer than λ² cells in their window); the
 *       tokens x clusters distance pass for hard labels only when cluster maps are asked for;
 *   <li>the mask transformer on {@code N'} patch tokens ({@code N' = M} with Expedit, else {@code N}):
 *       {@code proj_dec 2 N' D d}, its blocks at {@code N' + K} tokens ({@code K} classes), {@code proj_patch
 *       2 N' d d}, {@code proj_classes 2 K d d}, the masks {@code 2 N' K d}; a linear decoder {@code 2 N' D K};
 *   <li>Expedit's reconstruction of the masks: {@code 2 N M D} for the distances between the tokens before
 *       clustering and the final centres, {@code 2 N k K} for the weighted sums over the {@code k} kept clusters.
 * </ul>
 */
final class SegmenterFlops {
    private SegmenterFlops() {
    }

    /** What the counter needs of a decoder: its type and sizes. */
    record Decoder(String type, int classes, int layers, int dModel, int mlpHidden) {
        /** From a model configuration's decoder settings. */
        static Decoder of(SegmenterDecoderConfig d) {
            SegmenterDecoderConfig.MaskTransformer m = d.maskTransformer();
            return m == null ? new Decoder(d.type(), d.classes(), 0, 0, 0)
                    : new Decoder(d.type(), d.classes(), m.layers(), m.width(), m.mlpHidden());
        }

        static Decoder maskTransformer(int classes, int layers, int dModel, int mlpHidden) {
            return new Decoder("mask_transformer", classes, layers, dModel, mlpHidden);
        }
    }

    /** FLOPs by part, in the order they are computed. */
    record Count(Map<String, Double> parts) {
        Count {
            parts = Collections.unmodifiableMap(new LinkedHashMap<>(parts));
        }

        double total() {
            return parts.values().stream().mapToDouble(Double::doubleValue).sum();
        }

        double gflops() {
            return total() / 1e9;
        }

        /** Multiply-adds, in billions: what papers call "GFLOPs". */
        double gmacs() {
            return total() / 2e9;
        }

        double part(String name) {
            return parts.getOrDefault(name, 0.0);
        }

        /** This count for {@code windows} windows. */
        Count times(int windows) {
            Map<String, Double> m = new LinkedHashMap<>();
            parts.forEach((k, v) -> m.put(k, v * windows));
            return new Count(m);
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("gflops", Stats.round(gflops()));
            m.put("gmacs", Stats.round(gmacs()));
            Map<String, Object> p = new LinkedHashMap<>();
            parts.forEach((k, v) -> p.put(k, Stats.round(v / 1e9)));
            m.put("gflops_by_part", p);
            return m;
        }
    }

    /** A linear layer on {@code rows} rows: {@code 2 rows in out}. */
    static double linear(double rows, double in, double out) {
        return 2 * rows * in * out;
    }

    /** Attention's two products over {@code tokens} tokens of width {@code dim} (all heads): {@code 2 · 2 T² D}. */
    static double attention(double tokens, double dim) {
        return 2 * 2 * tokens * tokens * dim;
    }

    /**
     * Expedit's clustering of {@code patches} tokens of width {@code dim}: per round {@code 2 N λ² D} for the distances
     * to the window's centres and as much for the weighted means (an upper bound: tokens near the border have fewer
     * than λ² cells in their window); with {@code hardLabels}, the tokens x clusters distance pass that gives each
     * token its nearest final centre.
     */
    static double clustering(double patches, double dim, ExpeditSettings expedit, boolean hardLabels) {
        double lambda2 = (double) expedit.window() * expedit.window();
        double perRound = 2 * patches * lambda2 * dim * 2;
        return expedit.iterations() * perRound + (hardLabels ? linear(patches, dim, expedit.clusters()) : 0);
    }

    /** One pre-LN transformer block: qkv, attention, proj, fc1, fc2. */
    static double block(double tokens, double dim, double hidden) {
        return linear(tokens, dim, 3 * dim) + attention(tokens, dim) + linear(tokens, dim, dim)
                + linear(tokens, dim, hidden) + linear(tokens, hidden, dim);
    }

    /**
     * One window of {@code window x window} pixels (padded to the patch size as Segmenter does).
     *
     * @param expedit    null for the plain model
     * @param clusterMap whether the hard cluster labels are computed (a dense tokens x clusters pass)
     */
    static Count window(VitConfig enc, int window, Decoder dec, ExpeditSettings expedit, boolean clusterMap) {
        int p = enc.patchSize();
        int grid = (window + p - 1) / p;
        double n = (double) grid * grid;
        double prefix = enc.prefixTokens();
        double d = enc.embedDim();
        int depth = enc.depth();
        if (expedit != null && expedit.alpha() > depth) {
            throw new IllegalArgumentException("alpha=" + expedit.alpha() + " is beyond the encoder's " + depth
                    + " blocks");
        }
        int dense = expedit == null ? depth : expedit.alpha();
        double m = expedit == null ? n : expedit.clusters();
        Map<String, Double> parts = new LinkedHashMap<>();
        parts.put("patch_embed", linear(n, enc.inChannels() * p * p, d));
        parts.put("encoder_blocks_full", dense * block(prefix + n, d, enc.mlpHidden()));
        if (expedit != null) {
            parts.put("clustering", clustering(n, d, expedit, clusterMap));
            parts.put("encoder_blocks_clustered", (depth - dense) * block(prefix + m, d, enc.mlpHidden()));
        }
        double k = dec.classes();
        if (dec.type().equals("linear")) {
            parts.put("decoder_head", linear(m, d, k));
        } else {
            double dm = dec.dModel();
            parts.put("decoder_proj_dec", linear(m, d, dm));
            parts.put("decoder_blocks", dec.layers() * block(m + k, dm, dec.mlpHidden()));
            parts.put("decoder_proj_patch_classes", linear(m, dm, dm) + linear(k, dm, dm));
            parts.put("decoder_masks", 2 * m * k * dm);
        }
        if (expedit != null) {
            double kept = expedit.k() < 0 ? m : Math.min(expedit.k(), m);
            parts.put("reconstruction", 2 * n * m * d + 2 * n * kept * k);
        }
        return new Count(parts);
    }
}
