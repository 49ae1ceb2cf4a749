package dev.hourglass.convert;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.hourglass.convert.pth.PthFile;
import dev.hourglass.model.ModelFamily;
import dev.hourglass.tensor.Shape;
import dev.hourglass.vit.TimmVitConfig;

/**
 * timm's ViT/DeiT: a hub folder ({@code model.safetensors} + {@code config.json} with {@code pretrained_cfg}), a bare
 * state dict in safetensors, or a {@code .pth} like facebookresearch/deit's ({@code {'model': state_dict, ...}}).
 * The names are already canonical.
 */
final class TimmLayout extends Layout {

    @Override
    String name() {
        return "timm";
    }

    @Override
    boolean matches(Set<String> names) {
        return names.contains("patch_embed.proj.weight") && names.contains("pos_embed")
                && !names.contains("pos_embed_list.0");
    }

    @Override
    Conversion convert(Checkpoint c, ConvertOptions o) throws IOException {
        Set<String> names = new java.util.LinkedHashSet<>(c.tensors().names());
        TensorPlan plan = new TensorPlan();
        mapTimmEncoder(plan, names, "");
        List<String> problems = new ArrayList<>();
        Map<String, Shape> shapes = plan.shapes(c.tensors(), problems);
        JsonNode hub = c.config().filter(j -> j.has("pretrained_cfg") || j.has("architecture")).orElse(null);
        TimmVitConfig.Inferred encoder = encoder(shapes, withOptions(TimmVitConfig.hints(hub), o), c.fileName(),
                problems);
        List<String> notes = new ArrayList<>();
        ObjectNode preprocessing = null;
        List<String> labels = List.of();
        String deit = encoder == null ? null : whyDeit(c, encoder.config().distilled());
        if (hub != null && hub.get("pretrained_cfg") instanceof ObjectNode cfg) {
            preprocessing = cfg.deepCopy();
            preprocessing.retain("input_size", "interpolation", "crop_pct", "crop_mode", "mean", "std");
            labels = labels(hub.has("label_names") ? hub.get("label_names") : cfg.get("label_names"));
            if (encoder != null && !Normalisation.gives(preprocessing)) {
                // timm would take ImageNet's for what is missing; for a DeiT that is right, otherwise a guess.
                Normalisation.fillImagenet(preprocessing);
                notes.add(deit != null ? Normalisation.imagenetByFamily(deit) : Normalisation.TIMM_GUESS);
            }
        } else if (encoder != null) {
            preprocessing = timmDefaultPreprocessing(encoder.config(), 0.875, IMAGENET_MEAN, IMAGENET_STD);
            notes.add(deit != null ? Normalisation.imagenetByFamily(deit) : Normalisation.TIMM_GUESS);
            guessedTimmResize(notes, 0.875);
        }
        ModelFamily family = encoder != null && encoder.config().distilled() ? ModelFamily.DEIT : ModelFamily.VIT;
        return conclude(c, name(), family, plan, shapes, encoder, preprocessing, labels, null, notes, problems);
    }

    /**
     * Why the checkpoint is a DeiT, whose training code normalises with ImageNet's mean and std (the words of
     * {@link Normalisation#imagenetByFamily}), or null if nothing says: a distillation token (only DeiT's distilled models have one), or a {@code .pth} holding
     * {@code {'model': state_dict, ...}} as facebookresearch/deit's {@code main.py} saves it (and the code built on it:
     * CF-ViT, MAE, DeiT III). timm's {@code train.py} saves {@code 'state_dict'}, and timm's released {@code .pth}
     * files (the original ViT's among them, normalised with 0.5) are bare state dicts, so neither is taken for DeiT.
     */
    private static String whyDeit(Checkpoint c, boolean distilled) {
        if (distilled) {
            return "DeiT's training code uses (a distillation token: a DeiT)";
        }
        if (c.tensors() instanceof PthFile p && p.stateDictKey().filter("model"::equals).isPresent()) {
            return "DeiT's training code uses (a .pth holding {'model': state_dict}, as facebookresearch/deit saves"
                    + " it)";
        }
        return null;
    }

    static List<String> labels(JsonNode names) {
        List<String> out = new ArrayList<>();
        if (names != null && names.isArray()) {
            names.forEach(n -> out.add(n.asText()));
        }
        return out;
    }
}
