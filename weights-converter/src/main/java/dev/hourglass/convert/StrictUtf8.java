package dev.hourglass.convert;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 decoding of the converter's text files ({@code config.json}, {@code variant.yml}) that refuses malformed
 * bytes instead of replacing them, and says where the first one is. Stateless and thread-safe.
 */
public final class StrictUtf8 {

    /** Bytes that are not well-formed UTF-8, starting at {@link #offset()}. */
    public static final class MalformedException extends Exception {
        private final int offset;

        MalformedException(int offset) {
            super("not UTF-8 from byte " + offset, null, false, false);
            this.offset = offset;
        }

        /** The index of the first byte that cannot be decoded. */
        public int offset() {
            return offset;
        }
    }

    private StrictUtf8() {
    }

    /** The text of {@code bytes}, decoded strictly. */
    public static String decode(byte[] bytes) throws MalformedException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw new MalformedException(in.position());
        }
        return out.flip().toString();
    }
}
