package dev.hourglass.convert.pth;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Tensor;

/**
 * Writes float32 tensors as a PyTorch checkpoint the way the projects package their state dicts: under a key of a
 * dict ({@code torch.save({'model': sd}, f)}, as facebookresearch/deit does; {@code 'state_dict'}, as timm's
 * {@code train.py} does) or bare ({@code torch.save(sd, f)}, as timm's released {@code .pth} files are).
 */
public final class StateDictPth {
    private StateDictPth() {
    }

    /**
     * Writes every tensor of {@code tensors} (all F32) to {@code file}, in their order.
     *
     * @param key the root dict's key holding the state dict, or null for a bare state dict
     */
    public static Path write(Path file, String key, TensorSource tensors) throws IOException {
        Pickle p = Pickle.proto2();
        if (key != null) {
            p.op('}').str(key);
        }
        p.orderedDict().op('(');
        Map<String, byte[]> storages = new LinkedHashMap<>();
        int i = 0;
        for (TensorInfo info : tensors.tensors()) {
            Tensor t = tensors.tensor(info.name());
            if (t.dtype() != DType.F32) {
                throw new IllegalArgumentException(info.name() + " is " + t.dtype() + ", not F32");
            }
            long[] size = t.shape().dims();
            long[] stride = new long[size.length];
            long s = 1;
            for (int d = size.length - 1; d >= 0; d--) {
                stride[d] = s;
                s *= size[d];
            }
            String storage = String.valueOf(i++);
            p.str(info.name()).tensor("FloatStorage", storage, t.elementCount(), 0, size, stride);
            storages.put("archive/data/" + storage, t.data().toArray(ValueLayout.JAVA_BYTE));
        }
        p.op('u');
        if (key != null) {
            p.op('s');
        }
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", p.stop().bytes());
        entries.put("archive/byteorder", "little".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        entries.putAll(storages);
        entries.put("archive/version", "3\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return Files.write(file, Pickle.zip(entries, false));
    }
}
