package dev.hourglass.safetensors;

import static dev.hourglass.safetensors.RawSafetensors.bytes;
import static dev.hourglass.safetensors.RawSafetensors.entry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile and broken files, each built byte by byte. Every one must be rejected with a {@link SafetensorsException}
 * (nothing else: no OutOfMemoryError, no IndexOutOfBoundsException) whose message names the file and quotes the
 * defect, and no two defects may produce the same message.
 */
class SafetensorsMalformedFileTest {
    private static final String W4 = entry("w", "F32", "[4]", 0, 16);

    @TempDir
    Path folder;

    /** A case: a label for the report, the file's bytes, and fragments its error message must contain. */
    record Malformed(String label, byte[] content, List<String> expected) {
        Malformed(String label, byte[] content, String... expected) {
            this(label, content, List.of(expected));
        }

        @Override
        public String toString() {
            return label;
        }
    }

    static Stream<Malformed> malformedFiles() {
        return Stream.of(
                new Malformed("file shorter than the length prefix", new byte[5],
                        "file is 5 bytes, shorter than the 8-byte header length"),
                new Malformed("empty file", new byte[0], "file is 0 bytes"),
                new Malformed("header length 2^63-1", bytes(Long.MAX_VALUE, "{}".getBytes(), new byte[0]),
                        "header length 9223372036854775807 exceeds the limit of 100000000 bytes"),
                new Malformed("header length 2^64-1 (negative as a signed long)",
                        bytes(-1L, "{}".getBytes(), new byte[0]),
                        "header length 18446744073709551615 exceeds the limit"),
                new Malformed("header length 200 MB", bytes(200_000_000L, "{}".getBytes(), new byte[0]),
                        "header length 200000000 exceeds the limit of 100000000 bytes"),
                new Malformed("header length 0", bytes(0, new byte[0], new byte[4]), "header length is 0"),
                new Malformed("header beyond the file", bytes(1000, "{}".getBytes(), new byte[10]),
                        "header length 1000 goes beyond the end of the file", "at most 12 bytes"),
                new Malformed("header not UTF-8",
                        bytes(7, new byte[] {'{', '"', (byte) 0xFF, '"', ':', '1', '}'}, new byte[0]),
                        "header is not valid UTF-8", "byte 0xFF at header byte 2"),
                new Malformed("header starts with a space", bytes(" {}", 0),
                        "header does not start with '{'", "first byte is 0x20"),
                new Malformed("header is a JSON array", bytes("[]", 0),
                        "header does not start with '{'", "first byte is '[' 0x5B"),
                new Malformed("header JSON cut short", bytes("{\"w\": {\"dtype\": \"F32\",", 0),
                        "header is not valid JSON", "end-of-input"),
                new Malformed("second JSON value after the header", bytes("{} {}", 0),
                        "header has more JSON after its object, at header byte 3"),
                new Malformed("duplicate tensor name", bytes("{" + W4 + ", " + W4 + "}", 16),
                        "header is not valid JSON", "Duplicate field 'w'"),
                new Malformed("entry not an object", bytes("{\"w\": 5}", 0),
                        "tensor \"w\": entry is the integer 5; expected an object"),
                new Malformed("unknown field in an entry",
                        bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4], \"x\": 1}}", 4),
                        "tensor \"w\": unknown field \"x\""),
                new Malformed("missing data_offsets", bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4),
                        "tensor \"w\": missing field \"data_offsets\""),
                new Malformed("dtype not a string", bytes("{" + W4.replace("\"F32\"", "32") + "}", 16),
                        "tensor \"w\": dtype is the integer 32; expected a string"),
                new Malformed("unknown dtype", bytes("{" + entry("w", "F33", "[4]", 0, 16) + "}", 16),
                        "tensor \"w\": dtype \"F33\" is not a safetensors dtype", "known: BOOL, U8"),
                new Malformed("shape not an array", bytes("{" + entry("w", "F32", "4", 0, 16) + "}", 16),
                        "tensor \"w\": shape is the integer 4; expected an array of non-negative integers"),
                new Malformed("negative shape", bytes("{" + entry("w", "F32", "[2, -1]", 0, 16) + "}", 16),
                        "tensor \"w\": shape element 1 is -1; it must be non-negative"),
                new Malformed("non-integer shape", bytes("{" + entry("w", "F32", "[2.5]", 0, 16) + "}", 16),
                        "tensor \"w\": shape element 0 is the number 2.5; expected a non-negative integer"),
                new Malformed("shape element beyond a long",
                        bytes("{" + entry("w", "F32", "[99999999999999999999]", 0, 16) + "}", 16),
                        "shape element 0, 99999999999999999999, does not fit in a 64-bit integer"),
                new Malformed("shape element count overflow",
                        bytes("{" + entry("w", "F32", "[1099511627776, 1099511627776]", 0, 16) + "}", 16),
                        "tensor \"w\": shape [1099511627776, 1099511627776] of F32 overflows"),
                new Malformed("shape byte size overflow",
                        bytes("{" + entry("w", "F64", "[4611686018427387904]", 0, 16) + "}", 16),
                        "tensor \"w\": shape [4611686018427387904] of F64 overflows"),
                new Malformed("three data_offsets",
                        bytes("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 8),
                        "tensor \"w\": data_offsets [0, 4, 8] has 3 entries; expected exactly 2"),
                new Malformed("negative data offset", bytes("{" + entry("w", "F32", "[4]", -16, 0) + "}", 16),
                        "tensor \"w\": data_offsets element 0 is -16"),
                new Malformed("end before begin", bytes("{" + entry("w", "F32", "[4]", 1024, 900) + "}", 16),
                        "tensor \"w\": data_offsets [1024, 900] end is before begin"),
                new Malformed("byte length does not match shape",
                        bytes("{" + entry("w", "F32", "[4]", 0, 12) + "}", 12),
                        "tensor \"w\": data_offsets [0, 12] span 12 bytes, but shape [4] of F32 needs 16 bytes"),
                new Malformed("offsets beyond the data buffer",
                        bytes("{" + entry("w", "F32", "[4]", 16, 32) + "}", 16),
                        "tensor \"w\": data_offsets [16, 32] lie beyond the data buffer, which holds 16 bytes"),
                new Malformed("truncated data", bytes("{" + W4 + "}", 10),
                        "tensor \"w\": data_offsets [0, 16] run past the end of the data buffer, which holds only 10",
                        "truncated"),
                new Malformed("overlapping tensors",
                        bytes("{" + W4 + ", " + entry("v", "F32", "[4]", 8, 24) + "}", 24),
                        "tensor \"v\" data_offsets [8, 24] overlaps tensor \"w\" data_offsets [0, 16]"),
                new Malformed("hole between tensors",
                        bytes("{" + W4 + ", " + entry("v", "F32", "[4]", 20, 36) + "}", 36),
                        "hole: data buffer bytes [16, 20) between tensor \"w\"", "and tensor \"v\""),
                new Malformed("hole at the start", bytes("{" + entry("w", "F32", "[4]", 4, 20) + "}", 20),
                        "hole: data buffer bytes [0, 4) between the start of the data buffer and tensor \"w\""),
                new Malformed("trailing bytes after the last tensor", bytes("{" + W4 + "}", 20),
                        "4 trailing bytes: the tensors cover data buffer bytes [0, 16) but the data buffer holds 20"),
                new Malformed("metadata value not a string",
                        bytes("{\"__metadata__\": {\"format\": \"pt\", \"epoch\": 3}}", 0),
                        "__metadata__ value of \"epoch\" is the integer 3; metadata values must be strings"),
                new Malformed("metadata not an object", bytes("{\"__metadata__\": [\"pt\"]}", 0),
                        "__metadata__ is an array; expected an object of string values"),
                new Malformed("number longer than any integer needs",
                        bytes("{" + entry("w", "F32", "[" + "9".repeat(500) + "]", 0, 16) + "}", 16),
                        "header is not valid JSON", "exceeds the maximum"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedFiles")
    void rejectsWithItsOwnMessage(Malformed file) throws IOException {
        Path path = RawSafetensors.write(folder, "bad.safetensors", file.content());

        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(path));

        assertTrue(e.getMessage().startsWith(path + ": "), e.getMessage());
        assertEquals(path, e.file());
        for (String fragment : file.expected()) {
            assertTrue(e.getMessage().contains(fragment), "expected \"" + fragment + "\" in: " + e.getMessage());
        }
    }

    @Test
    void everyDefectHasADistinctMessage() throws IOException {
        Map<String, String> labelByMessage = new HashMap<>();
        for (Malformed file : malformedFiles().toList()) {
            Path path = RawSafetensors.write(folder, "bad.safetensors", file.content());
            String message = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(path)).getMessage();
            String earlier = labelByMessage.put(message, file.label());
            assertEquals(null, earlier, file.label() + " and " + earlier + " both give: " + message);
        }
    }

    @Test
    void longNamesAndControlCharactersAreQuotedShortAndEscaped() throws IOException {
        String name = "x\n".repeat(1000);
        String json = "{\"" + name.replace("\n", "\\n") + "\": 1}";
        Path path = RawSafetensors.write(folder, "bad.safetensors", bytes(json, 0));

        String message = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(path)).getMessage();

        assertTrue(message.contains("x\\u000ax\\u000a"), message);
        assertTrue(message.contains("...(2000 chars)"), message);
        assertTrue(message.length() < 400, message);
    }

    @Test
    void aRejectedFileLeavesNoMappingBehind() throws IOException {
        Path good = RawSafetensors.write(folder, "good.safetensors", bytes("{" + W4 + "}", 16));
        Path path = RawSafetensors.write(folder, "bad.safetensors", bytes("{" + W4 + "}", 20));
        long mappedBefore = mappedBufferCount();
        try (var _ = SafetensorsFile.open(good)) {
            assertEquals(mappedBefore + 1, mappedBufferCount(), "the pool must count segment mappings");
        }
        assertEquals(mappedBefore, mappedBufferCount());

        for (int i = 0; i < 3; i++) {
            assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(path));
        }

        assertEquals(mappedBefore, mappedBufferCount());
    }

    @Test
    void aMissingFileOrAFolderIsNamed() {
        Path missing = folder.resolve("missing.safetensors");
        assertEquals(missing + ": no such file",
                assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(missing)).getMessage());
        assertEquals(folder + ": not a regular file",
                assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(folder)).getMessage());
    }

    @Test
    void utf8InNamesIsAccepted() throws IOException {
        String json = "{" + entry("bloc\u00e9.\u4e2d", "F32", "[4]", 0, 16) + "}";
        Path path = RawSafetensors.write(folder, "ok.safetensors", bytes(json, 16));
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            assertTrue(file.contains("bloc\u00e9.\u4e2d"));
        }
    }

    /** Live file mappings of this JVM; mappings made for memory segments are counted too. */
    static long mappedBufferCount() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("mapped"))
                .mapToLong(BufferPoolMXBean::getCount)
                .sum();
    }
}
