package dev.hourglass.convert.pth;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A Python global (a class or function named by module and name in a pickle) that the unpickler accepts. It is an inert
 * marker: the unpickler recognises what it stands for by {@link #kind} and builds the corresponding Java value itself;
 * no Python name is ever resolved to code. Anything not in this allow-list is refused where the pickle names it.
 *
 * @param module the module, with Python 2's {@code __builtin__} spelled {@code builtins}
 * @param name   the name within the module
 * @param kind   what the unpickler does when it is called (or what it stands for as a value)
 * @param dtype  the element type, for storage classes and dtype constants; null otherwise
 */
record Global(String module, String name, Kind kind, PthDtype dtype) {

    /** What an allowed global stands for. */
    enum Kind {
        /** {@code collections.OrderedDict}: called with no arguments, filled by SETITEMS. */
        ORDERED_DICT,
        /** {@code builtins.set}, {@code builtins.frozenset}: called with one list of items (or none). */
        SET,
        /** {@code _codecs.encode(str, "latin1")}: how protocol 2 spells a {@code bytes} value. */
        CODECS_ENCODE,
        /** {@code torch._utils._rebuild_tensor(storage, offset, size, stride)}. */
        REBUILD_TENSOR,
        /** {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta])}. */
        REBUILD_TENSOR_V2,
        /** {@code torch._utils._rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, meta])}. */
        REBUILD_TENSOR_V3,
        /** {@code torch._utils._rebuild_parameter(tensor, requires_grad, hooks)}. */
        REBUILD_PARAMETER,
        /** {@code torch._utils._rebuild_parameter_with_state(tensor, requires_grad, hooks, state)}. */
        REBUILD_PARAMETER_WITH_STATE,
        /** A typed storage class such as {@code torch.FloatStorage}, or {@code torch.UntypedStorage}. */
        STORAGE_TYPE,
        /** A dtype constant such as {@code torch.float16}; becomes the string {@code "torch.float16"} as a value. */
        DTYPE,
        /** {@code torch.Size(tuple)}: becomes the tuple. */
        TORCH_SIZE,
        /** {@code torch.device(type[, index])}: becomes a string such as {@code "cuda:0"}. */
        TORCH_DEVICE,
        /** {@code argparse.Namespace}: becomes a {@link PthObject} holding the attributes BUILD gives it. */
        NAMESPACE
    }

    private static final Map<String, Global> ALLOWED = new HashMap<>();

    static {
        allow("collections", "OrderedDict", Kind.ORDERED_DICT, null);
        allow("builtins", "set", Kind.SET, null);
        allow("builtins", "frozenset", Kind.SET, null);
        allow("_codecs", "encode", Kind.CODECS_ENCODE, null);
        allow("torch._utils", "_rebuild_tensor", Kind.REBUILD_TENSOR, null);
        allow("torch._utils", "_rebuild_tensor_v2", Kind.REBUILD_TENSOR_V2, null);
        allow("torch._utils", "_rebuild_tensor_v3", Kind.REBUILD_TENSOR_V3, null);
        allow("torch._utils", "_rebuild_parameter", Kind.REBUILD_PARAMETER, null);
        allow("torch._utils", "_rebuild_parameter_with_state", Kind.REBUILD_PARAMETER_WITH_STATE, null);
        allow("torch", "Size", Kind.TORCH_SIZE, null);
        allow("torch", "device", Kind.TORCH_DEVICE, null);
        allow("argparse", "Namespace", Kind.NAMESPACE, null);
        Object[][] storages = {
            {"DoubleStorage", PthDtype.F64}, {"FloatStorage", PthDtype.F32}, {"HalfStorage", PthDtype.F16},
            {"BFloat16Storage", PthDtype.BF16}, {"LongStorage", PthDtype.I64}, {"IntStorage", PthDtype.I32},
            {"ShortStorage", PthDtype.I16}, {"CharStorage", PthDtype.I8}, {"ByteStorage", PthDtype.U8},
            {"BoolStorage", PthDtype.BOOL},
        };
        for (Object[] s : storages) {
            allow("torch", (String) s[0], Kind.STORAGE_TYPE, (PthDtype) s[1]);
            // Checkpoints saved from the GPU by old PyTorch versions name the CUDA classes.
            allow("torch.cuda", (String) s[0], Kind.STORAGE_TYPE, (PthDtype) s[1]);
        }
        allow("torch", "UntypedStorage", Kind.STORAGE_TYPE, PthDtype.U8);
        allow("torch.storage", "UntypedStorage", Kind.STORAGE_TYPE, PthDtype.U8);
        Object[][] dtypes = {
            {"float64", PthDtype.F64}, {"double", PthDtype.F64}, {"float32", PthDtype.F32}, {"float", PthDtype.F32},
            {"float16", PthDtype.F16}, {"half", PthDtype.F16}, {"bfloat16", PthDtype.BF16},
            {"int64", PthDtype.I64}, {"long", PthDtype.I64}, {"int32", PthDtype.I32}, {"int", PthDtype.I32},
            {"int16", PthDtype.I16}, {"short", PthDtype.I16}, {"int8", PthDtype.I8}, {"uint8", PthDtype.U8},
            {"bool", PthDtype.BOOL}, {"uint16", PthDtype.U16}, {"uint32", PthDtype.U32}, {"uint64", PthDtype.U64},
        };
        for (Object[] d : dtypes) {
            allow("torch", (String) d[0], Kind.DTYPE, (PthDtype) d[1]);
        }
    }

    private static void allow(String module, String name, Kind kind, PthDtype dtype) {
        ALLOWED.put(module + "\n" + name, new Global(module, name, kind, dtype));
    }

    /** The allowed global named {@code module.name}, or empty: the caller must then refuse the pickle. */
    static Optional<Global> lookup(String module, String name) {
        String m = module.equals("__builtin__") ? "builtins" : module;
        return Optional.ofNullable(ALLOWED.get(m + "\n" + name));
    }

    /** {@code module.name}. */
    String qualifiedName() {
        return module + "." + name;
    }
}
