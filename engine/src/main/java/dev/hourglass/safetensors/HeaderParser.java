package dev.hourglass.safetensors;

import static dev.hourglass.safetensors.Messages.list;
import static dev.hourglass.safetensors.Messages.quote;
import static dev.hourglass.safetensors.Messages.tensor;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.hourglass.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates the JSON header of a safetensors file, entry by entry, with Jackson's streaming API: nothing is
 * allocated from a number in the file, and every rejection names the tensor, the field and the value.
 */
final class HeaderParser {
    static final String METADATA_KEY = "__metadata__";

    private final Path file;
    private final long dataLength;
    private final JsonParser json;

    private HeaderParser(Path file, long dataLength, JsonParser json) {
        this.file = file;
        this.dataLength = dataLength;
        this.json = json;
    }

    /**
     * @param header     the header bytes (between the 8-byte length and the data buffer), at least one byte
     * @param dataLength size of the data buffer that follows the header, which the tensors must cover exactly
     */
    static ParsedHeader parse(Path file, byte[] header, long dataLength) throws SafetensorsException {
        checkUtf8(file, header);
        if (header[0] != '{') {
            throw new SafetensorsException(file, "header does not start with '{' (its first byte is "
                    + describeByte(header[0]) + "); the header must be a JSON object");
        }
        try (JsonParser json = StrictJson.FACTORY.createParser(header)) {
            return new HeaderParser(file, dataLength, json).readHeader();
        } catch (JsonProcessingException e) {
            throw StrictJson.invalid(file, "header", e);
        } catch (SafetensorsException e) {
            throw e;
        } catch (IOException e) {
            throw new SafetensorsException(file, "cannot parse header: " + e.getMessage(), e);
        }
    }

    /** Validates in small chunks, so a large header is never decoded into a second full-size copy. */
    private static void checkUtf8(Path file, byte[] header) throws SafetensorsException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(header);
        CharBuffer scratch = CharBuffer.allocate(4096);
        CoderResult result;
        do {
            scratch.clear();
            result = decoder.decode(in, scratch, true);
        } while (result.isOverflow());
        if (!result.isError()) {
            scratch.clear();
            result = decoder.flush(scratch);
        }
        if (result.isError()) {
            throw new SafetensorsException(file, "header is not valid UTF-8: malformed sequence starting with byte "
                    + describeByte(header[in.position()]) + " at header byte " + in.position());
        }
    }

    private static String describeByte(byte b) {
        String hex = String.format("0x%02X", b & 0xff);
        return b >= 0x21 && b <= 0x7e ? "'" + (char) b + "' " + hex : hex;
    }

    private ParsedHeader readHeader() throws IOException {
        json.nextToken(); // START_OBJECT: the first byte is '{'
        Map<String, String> metadata = Map.of();
        List<TensorInfo> tensors = new ArrayList<>();
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String key = json.currentName();
            json.nextToken();
            if (key.equals(METADATA_KEY)) {
                metadata = readMetadata();
            } else {
                tensors.add(readTensor(key));
            }
        }
        if (json.nextToken() != null) {
            throw problem("header has more JSON after its object, at header byte "
                    + json.currentTokenLocation().getByteOffset() + "; only spaces may follow the object");
        }
        DataLayout.check(file, tensors, dataLength);
        return new ParsedHeader(List.copyOf(tensors), metadata);
    }

    private Map<String, String> readMetadata() throws IOException {
        if (json.currentToken() == JsonToken.VALUE_NULL) {
            return Map.of(); // the reference implementation reads null as "no metadata"
        }
        if (json.currentToken() != JsonToken.START_OBJECT) {
            throw problem(METADATA_KEY + " is " + StrictJson.describe(json) + "; expected an object of string values");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String key = json.currentName();
            json.nextToken();
            if (json.currentToken() != JsonToken.VALUE_STRING) {
                throw problem(METADATA_KEY + " value of " + quote(key) + " is " + StrictJson.describe(json)
                        + "; metadata values must be strings");
            }
            metadata.put(key, json.getText());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private TensorInfo readTensor(String name) throws IOException {
        if (json.currentToken() != JsonToken.START_OBJECT) {
            throw problem(tensor(name) + ": entry is " + StrictJson.describe(json)
                    + "; expected an object with dtype, shape and data_offsets");
        }
        String dtypeName = null;
        long[] dims = null;
        long[] offsets = null;
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String field = json.currentName();
            json.nextToken();
            switch (field) {
                case "dtype" -> dtypeName = readDtypeName(name);
                case "shape" -> dims = readNonNegativeIntegers(name, field);
                case "data_offsets" -> offsets = readNonNegativeIntegers(name, field);
                default -> throw problem(tensor(name) + ": unknown field " + quote(field)
                        + "; an entry has exactly dtype, shape and data_offsets");
            }
        }
        requirePresent(name, "dtype", dtypeName);
        requirePresent(name, "shape", dims);
        requirePresent(name, "data_offsets", offsets);

        String dtypeNameFinal = dtypeName;
        FormatDtype dtype = FormatDtype.named(dtypeName).orElseThrow(() -> problem(tensor(name) + ": dtype "
                + quote(dtypeNameFinal) + " is not a safetensors dtype (known: " + FormatDtype.ALL_NAMES + ")"));
        Shape shape = shapeOf(name, dims, dtype);
        if (offsets.length != 2) {
            throw problem(tensor(name) + ": data_offsets " + list(offsets) + " has " + offsets.length
                    + " entries; expected exactly 2, [begin, end]");
        }
        checkByteRange(name, offsets[0], offsets[1], shape.elementCount() * dtype.byteSize, dims, dtype);
        return new TensorInfo(name, dtypeName, shape, offsets[0], offsets[1]);
    }

    private String readDtypeName(String name) throws IOException {
        if (json.currentToken() != JsonToken.VALUE_STRING) {
            throw problem(tensor(name) + ": dtype is " + StrictJson.describe(json)
                    + "; expected a string such as \"F32\"");
        }
        return json.getText();
    }

    private long[] readNonNegativeIntegers(String name, String field) throws IOException {
        if (json.currentToken() != JsonToken.START_ARRAY) {
            throw problem(tensor(name) + ": " + field + " is " + StrictJson.describe(json)
                    + "; expected an array of non-negative integers");
        }
        long[] values = new long[4];
        int count = 0;
        while (json.nextToken() != JsonToken.END_ARRAY) {
            String element = tensor(name) + ": " + field + " element " + count;
            if (json.currentToken() != JsonToken.VALUE_NUMBER_INT) {
                throw problem(element + " is " + StrictJson.describe(json) + "; expected a non-negative integer");
            }
            if (json.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw problem(element + ", " + json.getText() + ", does not fit in a 64-bit integer (limit "
                        + Long.MAX_VALUE + ")");
            }
            long value = json.getLongValue();
            if (value < 0) {
                throw problem(element + " is " + value + "; it must be non-negative");
            }
            if (count == values.length) {
                values = Arrays.copyOf(values, count * 2); // grows with the header's bytes, which are bounded
            }
            values[count++] = value;
        }
        return Arrays.copyOf(values, count);
    }

    private void requirePresent(String name, String field, Object value) throws SafetensorsException {
        if (value == null) {
            throw problem(tensor(name) + ": missing field \"" + field + "\"");
        }
    }

    private Shape shapeOf(String name, long[] dims, FormatDtype dtype) throws SafetensorsException {
        try {
            Shape shape = Shape.of(dims);
            Math.multiplyExact(shape.elementCount(), dtype.byteSize);
            return shape;
        } catch (ArithmeticException e) {
            throw problem(tensor(name) + ": shape " + list(dims) + " of " + dtype + " overflows: its element count"
                    + " times " + dtype.byteSize + " bytes exceeds " + Long.MAX_VALUE + " bytes");
        }
    }

    private void checkByteRange(String name, long begin, long end, long needed, long[] dims, FormatDtype dtype)
            throws SafetensorsException {
        String offsets = tensor(name) + ": data_offsets [" + begin + ", " + end + "]";
        if (end < begin) {
            throw problem(offsets + " end is before begin");
        }
        if (end - begin != needed) {
            throw problem(offsets + " span " + (end - begin) + " bytes, but shape " + list(dims) + " of " + dtype
                    + " needs " + needed + " bytes");
        }
        if (end > dataLength) {
            throw problem(begin < dataLength
                    ? offsets + " run past the end of the data buffer, which holds only " + dataLength
                            + " bytes: the file is truncated"
                    : offsets + " lie beyond the data buffer, which holds " + dataLength + " bytes");
        }
    }

    private SafetensorsException problem(String message) {
        return new SafetensorsException(file, message);
    }
}
