package dev.hourglass.safetensors;

import static dev.hourglass.safetensors.Messages.tensor;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * Checks that the tensors tile the data buffer exactly: sorted by offset, the first begins at 0, each begins where the
 * previous ends, and the last ends at the end of the buffer. Holes and overlaps are how a crafted file would make two
 * tensors alias or hide bytes, so both are rejected, as the reference implementation does.
 */
final class DataLayout {
    private DataLayout() {
    }

    /** @param tensors entries whose offsets are already known to lie within {@code [0, dataLength]} */
    static void check(Path file, List<TensorInfo> tensors, long dataLength) throws SafetensorsException {
        List<TensorInfo> byOffset = tensors.stream()
                .sorted(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end))
                .toList();
        long covered = 0;
        TensorInfo previous = null;
        for (TensorInfo t : byOffset) {
            if (t.begin() < covered) {
                throw new SafetensorsException(file, tensor(t.name()) + " data_offsets " + range(t) + " overlaps "
                        + tensor(previous.name()) + " data_offsets " + range(previous));
            }
            if (t.begin() > covered) {
                String before = previous == null ? "the start of the data buffer"
                        : tensor(previous.name()) + " (data_offsets " + range(previous) + ")";
                throw new SafetensorsException(file, "hole: data buffer bytes [" + covered + ", " + t.begin()
                        + ") between " + before + " and " + tensor(t.name()) + " (data_offsets " + range(t)
                        + ") belong to no tensor");
            }
            covered = t.end();
            previous = t;
        }
        if (covered < dataLength) {
            throw new SafetensorsException(file, (dataLength - covered) + " trailing bytes: the tensors cover data "
                    + "buffer bytes [0, " + covered + ") but the data buffer holds " + dataLength + " bytes");
        }
    }

    private static String range(TensorInfo t) {
        return "[" + t.begin() + ", " + t.end() + "]";
    }
}
