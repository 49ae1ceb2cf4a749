package dev.hourglass.safetensors;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The element types the safetensors format defines, with their sizes. Only used to validate headers: a tensor of any
 * of these types is a valid part of a file, even though only the float types of {@link dev.hourglass.tensor.DType} can
 * be turned into a {@link dev.hourglass.tensor.Tensor}. The constant names are the names used in headers.
 */
enum FormatDtype {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1),
    I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4),
    I64(8), U64(8), F64(8);

    private static final Map<String, FormatDtype> BY_NAME =
            Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(Enum::name, Function.identity()));

    /** Comma-separated list of all names, for error messages. */
    static final String ALL_NAMES = Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));

    final int byteSize;

    FormatDtype(int byteSize) {
        this.byteSize = byteSize;
    }

    static Optional<FormatDtype> named(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }
}
