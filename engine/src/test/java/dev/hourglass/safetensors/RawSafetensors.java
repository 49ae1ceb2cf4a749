package dev.hourglass.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, so tests can write exactly the malformed or unusual layout they need. */
final class RawSafetensors {
    private RawSafetensors() {
    }

    /** A header entry: {@code "name": {"dtype": ..., "shape": ..., "data_offsets": [begin, end]}}. */
    static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape + ", \"data_offsets\": ["
                + begin + ", " + end + "]}";
    }

    /** The 8-byte little-endian length, the header bytes, then the data bytes. */
    static byte[] bytes(long declaredHeaderLength, byte[] header, byte[] data) {
        return ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(declaredHeaderLength).put(header).put(data).array();
    }

    /** A well-framed file: the header length is that of {@code json}, followed by {@code dataBytes} bytes 0, 1, 2... */
    static byte[] bytes(String json, int dataBytes) {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        byte[] data = new byte[dataBytes];
        for (int i = 0; i < dataBytes; i++) {
            data[i] = (byte) i;
        }
        return bytes(header.length, header, data);
    }

    static Path write(Path folder, String fileName, byte[] content) throws IOException {
        return Files.write(folder.resolve(fileName), content);
    }
}
