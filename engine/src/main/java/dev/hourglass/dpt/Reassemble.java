package dev.hourglass.dpt;

import java.io.IOException;

import dev.hourglass.backend.Backend;
import dev.hourglass.backend.ConvWeights;
import dev.hourglass.backend.LinearWeights;
import dev.hourglass.backend.WeightStore;
import dev.hourglass.model.DptConfig;
import dev.hourglass.ops.ConvTranspose2d;
import dev.hourglass.ops.Epilogue;
import dev.hourglass.vit.TensorLookup;

/**
 * One of DPT's four taps ({@code pretrained.act_postprocessK} and {@code scratch.layerK_rn}): the tokens leaving a hooked
 * block become a feature map of the fusion width at 4, 2, 1 or 1/2 times the token grid:
 * <pre>
 *   tokens [B, prefix + h*w, D]
 *     -> readout: ignore (patch tokens), add (+ class token), project (cat(token, class) -> Linear 2D->D -> GELU)
 *     -> rows are already the [B, h, w, D] map (channels-last) -> 1x1 conv D -> F
 *     -> resize: x4 ConvTranspose k4 s4 | x2 ConvTranspose k2 s2 | x1 none | x1/2 Conv 3x3 s2 p1
 *     -> layerK_rn: Conv 3x3 p1, no bias, F -> fusion width
 * </pre>
 * DPT-Hybrid's taps 1 and 2 ({@link #stage}) are ResNet stages: their {@code act_postprocessK} is the identity, so
 * only {@code layerK_rn} is applied to the stage's map ({@link #run(DptPass, FeatureMap)}). Immutable once loaded.
 */
final class Reassemble {
    private final DptConfig.Readout readout;
    private final LinearWeights project;
    private final LinearWeights projection;
    private final double factor;
    private final ConvWeights upsample;
    private final int upsampleKernel;
    private final ConvLayer downsample;
    private final ConvLayer toFusion;
    private final int dim;
    private final int features;

    private Reassemble(DptConfig.Readout readout, LinearWeights project, LinearWeights projection, double factor,
                       ConvWeights upsample, int upsampleKernel, ConvLayer downsample, ConvLayer toFusion, int dim,
                       int features) {
        this.readout = readout;
        this.project = project;
        this.projection = projection;
        this.factor = factor;
        this.upsample = upsample;
        this.upsampleKernel = upsampleKernel;
        this.downsample = downsample;
        this.toFusion = toFusion;
        this.dim = dim;
        this.features = features;
    }

    /** Tap {@code k} (1 to 4) of a model of width {@code dim}. */
    static Reassemble load(WeightStore store, TensorLookup names, DptConfig config, int k, int dim)
            throws IOException {
        String base = DptNames.postprocess(k);
        int f = config.features()[k - 1];
        double factor = config.reassembleFactors()[k - 1];
        LinearWeights project = null;
        if (config.readout() == DptConfig.Readout.PROJECT) {
            project = store.linear(names.tensor(base + ".0.project.0.weight", dim, 2L * dim),
                    names.tensor(base + ".0.project.0.bias", dim));
        }
        LinearWeights projection = store.linear(names.tensor(base + ".3.weight", f, dim, 1, 1).reshape(f, dim),
                names.tensor(base + ".3.bias", f));
        ConvWeights upsample = null;
        int kernel = 0;
        ConvLayer downsample = null;
        if (factor > 1) {
            kernel = (int) factor;
            if (kernel != factor) {
                throw new IOException("DPT reassemble factor " + factor + " of tap " + k + " is not an integer");
            }
            upsample = store.convTranspose2d(names.tensor(base + ".4.weight", f, f, kernel, kernel),
                    names.tensor(base + ".4.bias", f));
        } else if (factor == 0.5) {
            downsample = ConvLayer.load(store, names, base + ".4", f, f, 3, 2, 1, true);
        } else if (factor != 1) {
            throw new IOException("DPT reassemble factor " + factor + " of tap " + k + " is not one DPT has"
                    + " (4, 2, 1, 0.5)");
        }
        ConvLayer toFusion = ConvLayer.load(store, names, DptNames.layerRn(k), f, config.fusionFeatures(), 3, 1, 1,
                false);
        return new Reassemble(config.readout(), project, projection, factor, upsample, kernel, downsample, toFusion,
                dim, f);
    }

    /**
     * DPT-Hybrid's tap {@code k} (1 or 2): a ResNet stage's map of {@code features[k - 1]} channels, taken as it is
     * (no readout, no resize) to {@code layerK_rn}.
     */
    static Reassemble stage(WeightStore store, TensorLookup names, DptConfig config, int k) throws IOException {
        int f = config.features()[k - 1];
        ConvLayer toFusion = ConvLayer.load(store, names, DptNames.layerRn(k), f, config.fusionFeatures(), 3, 1, 1,
                false);
        return new Reassemble(null, null, null, config.reassembleFactors()[k - 1], null, 0, null, toFusion, 0, f);
    }

    /** Whether this tap reads a stem stage's map rather than tokens ({@link #stage}). */
    boolean readsStage() {
        return projection == null;
    }

    /** A stage tap's map for the fusion stage, from the stage's output ({@code features} channels). */
    FeatureMap run(DptPass pass, FeatureMap stage) {
        if (!readsStage() || stage.channels() != features) {
            throw new IllegalStateException("DPT tap expects a stem stage of " + features + " channels, got " + stage);
        }
        return toFusion.run(pass, stage, Epilogue.NONE);
    }

    /**
     * The map this tap gives the fusion stage, from the full token sequence ({@code [batch, prefix + h*w, dim]},
     * every patch present).
     */
    FeatureMap run(DptPass pass, dev.hourglass.backend.Buffer tokens, int batch, int prefix, int h, int w) {
        Backend backend = pass.backend();
        int patches = h * w;
        int rows = batch * patches;
        long sequence = (long) (prefix + patches) * dim;
        FeatureMap x = pass.map(batch, h, w, dim);
        switch (readout) {
            case IGNORE -> {
                for (int b = 0; b < batch; b++) {
                    backend.copy(tokens, b * sequence + (long) prefix * dim, x.data(), (long) b * patches * dim,
                            (long) patches * dim);
                }
            }
            case ADD -> {
                // AddReadout: patch tokens plus the class token (the mean of the two prefix tokens of a distilled
                // model).
                FeatureMap readoutRows = pass.map(batch, h, w, dim);
                for (int b = 0; b < batch; b++) {
                    backend.copy(tokens, b * sequence + (long) prefix * dim, x.data(), (long) b * patches * dim,
                            (long) patches * dim);
                    backend.copy2d(tokens, b * sequence, 0, readoutRows.data(), (long) b * patches * dim, dim,
                            patches, dim);
                }
                if (prefix == 2) {
                    FeatureMap second = pass.map(batch, h, w, dim);
                    for (int b = 0; b < batch; b++) {
                        backend.copy2d(tokens, b * sequence + dim, 0, second.data(), (long) b * patches * dim, dim,
                                patches, dim);
                    }
                    backend.addScaled(readoutRows.data(), second.data(), x.size(), 0.5f);
                }
                backend.addScaled(x.data(), readoutRows.data(), x.size(), 1f);
            }
            case PROJECT -> {
                // ProjectReadout: [token, class token] (the first prefix token only) -> Linear -> GELU.
                dev.hourglass.backend.Buffer joined = pass.buffer(2L * rows * dim);
                for (int b = 0; b < batch; b++) {
                    long o = 2L * b * patches * dim;
                    backend.copy2d(tokens, b * sequence + (long) prefix * dim, dim, joined, o, 2 * dim, patches, dim);
                    backend.copy2d(tokens, b * sequence, 0, joined, o + dim, 2 * dim, patches, dim);
                }
                backend.linear(joined, 0, rows, project, x.data(), 0, Epilogue.GELU);
            }
        }
        FeatureMap y = pass.map(batch, h, w, features);
        backend.linear(x.data(), 0, rows, projection, y.data(), 0, Epilogue.NONE);
        if (upsample != null) {
            FeatureMap up = pass.map(batch, h * upsampleKernel, w * upsampleKernel, features);
            backend.convTranspose2d(y.data(), new ConvTranspose2d(batch, h, w, features, features, upsampleKernel,
                    upsampleKernel), upsample, up.data());
            y = up;
        } else if (downsample != null) {
            y = downsample.run(pass, y, Epilogue.NONE);
        }
        return toFusion.run(pass, y, Epilogue.NONE);
    }

    /** Multiply-adds x 2 of this tap on an {@code h x w} token grid, one image. */
    double flops(int h, int w) {
        if (readsStage()) {
            double side = factor;
            return 2.0 * (h * side) * (w * side) * features * toFusion.out() * 9;
        }
        double patches = (double) h * w;
        double f = 0;
        if (readout == DptConfig.Readout.PROJECT) {
            f += 2 * patches * 2.0 * dim * dim;
        }
        f += 2 * patches * dim * features;
        int mh = h;
        int mw = w;
        if (upsample != null) {
            f += 2 * patches * features * features * upsampleKernel * upsampleKernel;
            mh *= upsampleKernel;
            mw *= upsampleKernel;
        } else if (downsample != null) {
            mh = (h + 1) / 2;
            mw = (w + 1) / 2;
            f += 2.0 * mh * mw * features * features * 9;
        }
        return f + 2.0 * mh * mw * features * toFusion.out() * 9;
    }
}
