package dev.hourglass.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import dev.hourglass.ops.Resize;
import dev.hourglass.reduce.expedit.ExpeditSettings;
import dev.hourglass.vit.VitConfig;

class SegmenterFlopsTest {
    private static final SegmenterFlops.Decoder LINEAR_1000 = new SegmenterFlops.Decoder("linear", 1000, 0, 0, 0);

    @Test
    void vitB16At224IsTheDocumented17Point56GMacs() {
        VitConfig b16 = new VitConfig(224, 224, 16, 3, 768, 12, 12, 3072, true, true, false, 1000, 1e-6f,
                Resize.Mode.BICUBIC, true);
        SegmenterFlops.Count c = SegmenterFlops.window(b16, 224, LINEAR_1000, null, false);
        double encoder = c.part("patch_embed") + c.part("encoder_blocks_full");
        // timm / DeiT quote 17.6 "GFLOPs" (multiply-adds) for ViT-B/16 at 224; fvcore counts 17.56 G.
        assertEquals(17.56, encoder / 2e9, 0.005);
        // The same as the engine's own count, less its classifier head (on the class token alone).
        assertEquals(b16.flops(224, 224) - 2.0 * 768 * 1000, encoder, 1.0);
    }

    @Test
    void perLayerFormulasOnATinyConfigWorkedOutByHand() {
        assertEquals(2.0 * 5 * 8 * 24, SegmenterFlops.linear(5, 8, 24));
        assertEquals(4.0 * 25 * 8, SegmenterFlops.attention(5, 8));
        // T=5, D=8, H=16: qkv 1920, attention 800, proj 640, fc1 + fc2 2560.
        assertEquals(5920, SegmenterFlops.block(5, 8, 16));
    }

    /**
     * Patch 4 on an 8x8 window (N = 4 patches + 1 class token), width 8, 3 blocks, MLP 16; mask transformer with 3
     * classes, 1 layer of width 4, MLP 8. Expedit after block 2 into a 1x2 grid (M = 2), 2 rounds, window 3, k = 1.
     */
    @Test
    void wholeWindowWorkedOutByHand() {
        VitConfig enc = new VitConfig(8, 8, 4, 3, 8, 3, 2, 16, true, true, false, 0, 1e-6f, Resize.Mode.BILINEAR,
                false);
        SegmenterFlops.Decoder dec = SegmenterFlops.Decoder.maskTransformer(3, 1, 4, 8);

        SegmenterFlops.Count base = SegmenterFlops.window(enc, 8, dec, null, false);
        assertEquals(2.0 * 4 * 48 * 8, base.part("patch_embed"));            // 3072
        assertEquals(3 * 5920, base.part("encoder_blocks_full"));             // 17760
        assertEquals(2.0 * 4 * 8 * 4, base.part("decoder_proj_dec"));        // 256
        // T = 4 + 3 = 7, d = 4, H = 8: qkv 672, attention 784, proj 224, MLP 896.
        assertEquals(2576, base.part("decoder_blocks"));
        assertEquals(2.0 * 4 * 4 * 4 + 2.0 * 3 * 4 * 4, base.part("decoder_proj_patch_classes"));   // 224
        assertEquals(2.0 * 4 * 3 * 4, base.part("decoder_masks"));           // 96
        assertEquals(23984, base.total());
        assertEquals(0, base.part("clustering"));

        ExpeditSettings ex = new ExpeditSettings(2, 1, 2, 2, 3, 0.02f, 1, 0.02f);
        SegmenterFlops.Count exp = SegmenterFlops.window(enc, 8, dec, ex, false);
        assertEquals(3072, exp.part("patch_embed"));
        assertEquals(2 * 5920, exp.part("encoder_blocks_full"));              // blocks 1..alpha at 5 tokens
        // 2 rounds x (distances 2 N lambda^2 D + weighted means as much) = 2 x 2 x 2 x 4 x 9 x 8.
        assertEquals(2304, exp.part("clustering"));
        // One block at 1 + 2 tokens: qkv 1152, attention 288, proj 384, MLP 1536.
        assertEquals(3360, exp.part("encoder_blocks_clustered"));
        assertEquals(128, exp.part("decoder_proj_dec"));                      // 2 x 2 x 8 x 4
        // T = 2 + 3 = 5, d = 4, H = 8: qkv 480, attention 400, proj 160, MLP 640.
        assertEquals(1680, exp.part("decoder_blocks"));
        assertEquals(64 + 96, exp.part("decoder_proj_patch_classes"));
        assertEquals(48, exp.part("decoder_masks"));
        // Distances 2 N M D = 128, weighted sums 2 N k K = 24.
        assertEquals(152, exp.part("reconstruction"));
        assertEquals(22744, exp.total());
        assertEquals(22744 / 2e9, exp.gmacs(), 1e-15);

        // Cluster maps add the tokens x clusters distance pass: 2 N D M = 128.
        assertEquals(2304 + 128, SegmenterFlops.window(enc, 8, dec, ex, true).part("clustering"));
        assertEquals(2 * 22744, exp.times(2).total());
    }

    @Test
    void segmenterVitLDenseEncoderAgreesWithTheEngineCount() {
        VitConfig l16 = SegmenterSpeed.preset("vit-l").encoder();
        SegmenterFlops.Count c = SegmenterFlops.window(l16, 640, SegmenterFlops.Decoder.maskTransformer(150, 2, 1024,
                4096), null, false);
        assertEquals(l16.flops(640, 640), c.part("patch_embed") + c.part("encoder_blocks_full"), 1e3);
    }
}
