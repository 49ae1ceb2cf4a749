package dev.hourglass.convert.pth;

import static dev.hourglass.convert.pth.Pickle.fixture;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.safetensors.SafetensorsException;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile and broken checkpoints: each must be refused with a {@link PthException} (nothing else: no
 * OutOfMemoryError, no runtime exception) whose message names the file and the defect, no two defects alike, and
 * nothing in a file may ever run.
 */
class PthRefusedInputTest {
    /** What tools/make_pth_fixtures.py's malicious pickles would create if they were executed. */
    private static final Path FIXTURE_MARKER = Path.of("/tmp/hourglass-pth-fixture-was-executed");

    @TempDir
    Path folder;

    // ---------------------------------------------------------------- fixtures written by the tools script

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "evil_os_system.pth | archive/data.pkl byte 52 (GLOBAL): global os.system is not allowed in a checkpoint",
        "evil_eval.pth | archive/data.pkl byte 52 (GLOBAL): global builtins.eval is not allowed in a checkpoint",
        "truncated.pth | truncated or damaged zip archive: no end of central directory record in its last 2675 bytes",
        "missing_storage.pth | archive/data.pkl byte 251 (BINPERSID): missing storage record \"archive/data/1\" for"
            + " storage \"1\" (40 F32 elements)",
        "short_storage.pth | archive/data.pkl byte 251 (BINPERSID): storage record \"archive/data/1\" holds 5 bytes,"
            + " but storage \"1\" declares 40 F32 elements (160 bytes): truncated",
        "legacy.pth | legacy PyTorch serialization (not a zip archive); re-save it with a current PyTorch:"
            + " torch.save(torch.load(f), f2)",
        "big_endian.pth | big-endian checkpoint (archive/byteorder says \"big\"); only little-endian checkpoints are"
            + " supported",
        "torchscript.pt | a TorchScript archive (torch.jit.save: it holds archive/constants.pkl and archive/code/),"
            + " not a torch.save checkpoint; save its weights with torch.save(torch.jit.load(f).state_dict(), f2)",
    })
    void fixturesAreRefusedWithTheirOwnMessage(String file, String expected) throws IOException {
        Path path = fixture(file);
        Files.deleteIfExists(FIXTURE_MARKER);

        PthException e = assertThrows(PthException.class, () -> PthFile.open(path));

        assertTrue(e.getMessage().startsWith(path + ": " + expected), e.getMessage());
        assertEquals(path, e.file());
        assertFalse(Files.exists(FIXTURE_MARKER), "the pickle's command ran");
    }

    @Test
    void theMaliciousFixturesNeverRunTheirCommand() throws IOException {
        Files.deleteIfExists(FIXTURE_MARKER);
        long processesBefore = ProcessHandle.current().descendants().count();
        for (String file : List.of("evil_os_system.pth", "evil_eval.pth")) {
            PthException e = assertThrows(PthException.class, () -> PthFile.open(fixture(file)));
            assertTrue(e.getMessage().endsWith("the file is refused and nothing in it was executed"), e.getMessage());
        }
        assertFalse(Files.exists(FIXTURE_MARKER), FIXTURE_MARKER + " exists: a command ran");
        assertEquals(processesBefore, ProcessHandle.current().descendants().count(), "a process was started");
    }

    /** Every way Python code could run a command, each in its own checkpoint pointing at a fresh marker file. */
    @ParameterizedTest(name = "{0}.{1}")
    @CsvSource({
        "os, system", "posix, system", "nt, system", "subprocess, Popen", "subprocess, check_output",
        "builtins, eval", "builtins, exec", "__builtin__, exec", "builtins, getattr", "builtins, __import__",
        "os, popen", "pty, spawn", "runpy, run_path", "pickle, loads", "torch, load", "torch.serialization, load",
        "numpy.core.multiarray, _reconstruct", "torch._tensor, _rebuild_from_type_v2", "copyreg, _reconstructor",
    })
    void noForbiddenGlobalRuns(String module, String name) throws IOException {
        Path marker = folder.resolve("marker-" + module + "-" + name);
        byte[] pickle = Pickle.proto2().op('}').str("model").orderedDict().op('s')
                .str("hook").global(module, name).str("touch " + marker).raw(0x85).op('R').op('s').stop().bytes();
        Path path = Pickle.write(folder, "evil.pth", new Pickle().raw(pickle).checkpoint());
        long processesBefore = ProcessHandle.current().descendants().count();

        PthException e = assertThrows(PthException.class, () -> PthFile.open(path));

        assertEquals(path + ": archive/data.pkl byte 50 (GLOBAL): global " + module + "." + name
                + " is not allowed in a checkpoint: only state-dict types are built (collections.OrderedDict, torch"
                + " tensors, storages, dtypes, Size and device, argparse.Namespace, set, bytes); the file is refused"
                + " and nothing in it was executed", e.getMessage());
        assertFalse(Files.exists(marker), "the command ran");
        assertEquals(processesBefore, ProcessHandle.current().descendants().count(), "a process was started");
    }

    @Test
    void aProtocol4StackGlobalIsCheckedToo() throws IOException {
        byte[] pickle = new Pickle().raw(0x80, 4).raw(0x8c, 5).raw("posix".getBytes(StandardCharsets.US_ASCII))
                .raw(0x94).raw(0x8c, 6).raw("system".getBytes(StandardCharsets.US_ASCII)).raw(0x94, 0x93)
                .str("touch x").raw(0x85).op('R').stop().bytes();
        Path path = Pickle.write(folder, "evil4.pth", new Pickle().raw(pickle).checkpoint());
        PthException e = assertThrows(PthException.class, () -> PthFile.open(path));
        assertTrue(e.getMessage().startsWith(path + ": archive/data.pkl byte 19 (STACK_GLOBAL): global posix.system"
                + " is not allowed"), e.getMessage());
    }

    // ---------------------------------------------------------------- crafted inputs

    /** A case: a label, the file's bytes, and the text its message must contain after {@code <file>: }. */
    record Malformed(String label, byte[] content, String expected) {
        @Override
        public String toString() {
            return label;
        }
    }

    private static Malformed pickle(String label, Pickle pickle, String expected, Object... storages) {
        return new Malformed(label, pickle.checkpoint(storages), expected);
    }

    private static final byte[] FOUR_FLOATS = new byte[16];

    static Stream<Malformed> malformed() {
        byte[] bombClaim = patchCentral(Pickle.zip(Map.of("archive/data.pkl", Pickle.proto2().op('N').stop().bytes()),
                true), "archive/data.pkl", 24, 0x7fffffff);
        byte[] goodZip = Pickle.proto2().op('N').stop().checkpoint();
        byte[] tooManyEntries = goodZip.clone();
        tooManyEntries[tooManyEntries.length - 22 + 10] = (byte) 0xff;
        tooManyEntries[tooManyEntries.length - 22 + 11] = (byte) 0xff;
        byte[] badCrc = goodZip.clone();
        badCrc[indexOf(badCrc, new byte[] {(byte) 0x80, 2, 'N', '.'}) + 2] = ')';
        return Stream.of(
                // ---- the container
                new Malformed("empty file", new byte[0], "empty file; not a PyTorch checkpoint"),
                new Malformed("text file", "hello world".getBytes(StandardCharsets.US_ASCII),
                        "not a PyTorch checkpoint: not a zip archive (it starts with 0x68 0x65 0x6c 0x6c)"),
                new Malformed("a bare pickle", Pickle.proto2().op('}').stop().bytes(),
                        "a bare pickle stream without PyTorch's magic number, not a torch.save checkpoint"),
                new Malformed("zip without data.pkl", Pickle.zip("weights.bin", "x"),
                        "no <folder>/data.pkl entry, so not a torch.save checkpoint (the zip holds 1 entries:"
                                + " \"weights.bin\")"),
                new Malformed("data.pkl at the zip root", Pickle.zip("data.pkl", Pickle.proto2().op('N').stop()
                        .bytes()), "no <folder>/data.pkl entry, so not a torch.save checkpoint (the zip holds 1"
                        + " entries: \"data.pkl\")"),
                new Malformed("two folders with data.pkl", Pickle.zip("a/data.pkl", "x", "b/data.pkl", "y"),
                        "more than one folder has a data.pkl entry: \"a\", \"b\""),
                new Malformed("unknown byte order", Pickle.proto2().op('N').stop().checkpoint("archive/byteorder",
                        "middle"), "archive/byteorder says \"middle\"; expected \"little\" or \"big\""),
                new Malformed("zip bomb claim (2 GB from a few bytes)", bombClaim,
                        "truncated or damaged zip archive: entry \"archive/data.pkl\" claims 2147483647 bytes from"),
                new Malformed("more entries than the directory holds", tooManyEntries,
                        "truncated or damaged zip archive: the end record claims 65535 entries"),
                new Malformed("damaged data.pkl", badCrc, "archive/data.pkl: CRC-32 of the content is"),

                // ---- hostile sizes: refused before anything is allocated
                pickle("BINUNICODE of 2^31 bytes", Pickle.proto2().op('X').u32(1L << 31).raw('a', 'b', 'c'),
                        "archive/data.pkl byte 2 (BINUNICODE): BINUNICODE length 2147483648 exceeds the 3 bytes left"),
                pickle("BINUNICODE8 of 2^63 + 5 bytes", Pickle.proto2().raw(0x8d).u64(Long.MIN_VALUE + 5),
                        "BINUNICODE8 length 9223372036854775813 (read as unsigned) exceeds the 0 bytes left"),
                pickle("BINBYTES of 2^32 - 1 bytes", Pickle.proto2().op('B').u32(0xffffffffL),
                        "(BINBYTES): BINBYTES length 4294967295 exceeds the 0 bytes left in the pickle"),
                pickle("BINBYTES8 of 2^40 bytes", Pickle.proto2().raw(0x8e).u64(1L << 40),
                        "(BINBYTES8): BINBYTES8 length 1099511627776 exceeds"),
                pickle("LONG4 of 2^31 - 1 bytes", Pickle.proto2().raw(0x8b).u32(Integer.MAX_VALUE),
                        "(LONG4): LONG4 integer of 2147483647 bytes (at most 1024 accepted)"),
                pickle("BINSTRING of negative length", Pickle.proto2().op('T').u32(-1),
                        "(BINSTRING): BINSTRING length -1 is negative"),
                pickle("FRAME of 2^40 bytes", new Pickle().raw(0x80, 4, 0x95).u64(1L << 40),
                        "archive/data.pkl byte 2 (FRAME): frame length 1099511627776 exceeds the 0 bytes left"),
                pickle("GLOBAL without a newline", Pickle.proto2().op('c').raw(new byte[2000]),
                        "(GLOBAL): GLOBAL module has no newline within 1024 bytes"),
                pickle("tensor of 2^40 x 2^40 elements", Pickle.proto2()
                        .global("torch._utils", "_rebuild_tensor_v2").op('(').persid("FloatStorage", "0", 4)
                        .integer(0).op('(').long1(1L << 40).long1(1L << 40).op('t').ints(1, 1).raw(0x89)
                        .orderedDict().op('t').op('R').stop(), "torch._utils._rebuild_tensor_v2: size"
                        + " [1099511627776, 1099511627776] has more elements than fit in 2^63 bytes",
                        "archive/data/0", FOUR_FLOATS),
                pickle("storage of 2^62 floats", Pickle.proto2().op('(').str("storage").global("torch", "FloatStorage")
                        .str("0").str("cpu").long1(1L << 62).op('t').op('Q').stop(),
                        "(BINPERSID): storage \"0\" declares 4611686018427387904 F32 elements, more than 2^63 bytes",
                        "archive/data/0", FOUR_FLOATS),
                pickle("a view reaching past its storage", Pickle.proto2()
                        .tensor("FloatStorage", "0", 4, 1, new long[] {2, 2}, new long[] {2, 1}).stop(),
                        "(REDUCE): torch._utils._rebuild_tensor_v2: the view size [2, 2] stride [2, 1] offset 1"
                        + " reaches F32 element 4 of storage \"0\", which holds 4 (out of bounds)",
                        "archive/data/0", FOUR_FLOATS),
                pickle("a view whose end overflows", Pickle.proto2()
                        .global("torch._utils", "_rebuild_tensor_v2").op('(').persid("FloatStorage", "0", 4)
                        .long1(Long.MAX_VALUE).ints(2).ints(2).raw(0x89).orderedDict().op('t').op('R').stop(),
                        "reaches beyond element 2^63 of storage \"0\"", "archive/data/0", FOUR_FLOATS),
                pickle("half a million empty dicts (a 500 KB pickle)", dictFlood(500_000),
                        "(EMPTY_DICT): the values built so far would take more than 64 MiB of memory (estimated); a"
                        + " checkpoint's object tree needs far less (refused to bound memory)"),
                pickle("lists nested 200 deep", nestedLists(200), "archive/data.pkl: containers nested more than"
                        + " 100 deep"),
                pickle("a list that contains itself", Pickle.proto2().op(']').raw('q', 0, 'h', 0).op('a').stop(),
                        "archive/data.pkl: the object graph has a cycle: a list contains itself"),

                // ---- malformed tensors and storages
                pickle("missing storage record", Pickle.proto2()
                        .tensor("FloatStorage", "7", 4, 0, new long[] {4}, new long[] {1}).stop(),
                        "missing storage record \"archive/data/7\" for storage \"7\" (4 F32 elements)",
                        "archive/data/0", FOUR_FLOATS),
                pickle("negative stride", Pickle.proto2()
                        .tensor("FloatStorage", "0", 4, 3, new long[] {4}, new long[] {-1}).stop(),
                        "torch._utils._rebuild_tensor_v2: size [4] stride [-1] has a negative value",
                        "archive/data/0", FOUR_FLOATS),
                pickle("size and stride of different lengths", Pickle.proto2()
                        .tensor("FloatStorage", "0", 4, 0, new long[] {2, 2}, new long[] {1}).stop(),
                        "size [2, 2] and stride [1] differ in length", "archive/data/0", FOUR_FLOATS),
                pickle("one storage declared with two types", Pickle.proto2().op('(')
                        .tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1})
                        .tensor("HalfStorage", "0", 8, 0, new long[] {8}, new long[] {1}).op('l').stop(),
                        "storage \"0\" is declared as 8 F16 elements, but earlier as 4 F32 elements",
                        "archive/data/0", FOUR_FLOATS),
                pickle("persistent id not a storage tuple", Pickle.proto2().str("x").op('Q').stop(),
                        "(BINPERSID): persistent id the string \"x\" is not a ('storage', type, key, location,"
                        + " numel) tuple"),
                pickle("a complex storage class", Pickle.proto2().global("torch", "ComplexFloatStorage").stop(),
                        "(GLOBAL): global torch.ComplexFloatStorage is not allowed in a checkpoint"),
                pickle("_rebuild_tensor_v2 with 3 arguments", Pickle.proto2()
                        .global("torch._utils", "_rebuild_tensor_v2").ints(1, 2, 3).op('R').stop(),
                        "(REDUCE): torch._utils._rebuild_tensor_v2 called with 3 arguments; expected 6 to 7"),
                pickle("_rebuild_tensor_v2 of a string", Pickle.proto2()
                        .global("torch._utils", "_rebuild_tensor_v2").op('(').str("s").integer(0).ints(1).ints(1)
                        .raw(0x89).orderedDict().op('t').op('R').stop(),
                        "the storage argument of torch._utils._rebuild_tensor_v2 is the string \"s\"; expected a"
                        + " storage (a persistent id)"),
                pickle("a storage as a value", Pickle.proto2().persid("FloatStorage", "0", 4).stop(),
                        "archive/data.pkl: storage \"0\" appears outside a tensor", "archive/data/0", FOUR_FLOATS),
                pickle("a class as a value", Pickle.proto2().global("collections", "OrderedDict").stop(),
                        "archive/data.pkl: the global collections.OrderedDict appears as a value, not called"),

                // ---- malformed pickles
                pickle("pickle without STOP", Pickle.proto2().op('N'),
                        "archive/data.pkl byte 3: the pickle ends without a STOP opcode (truncated)"),
                pickle("pickle cut inside an argument", Pickle.proto2().op('J').raw(1, 2),
                        "(BININT): needs 4 more bytes but the pickle ends after 2 (truncated)"),
                pickle("REDUCE on an empty stack", Pickle.proto2().op('R').stop(),
                        "(REDUCE): stack underflow (no value on the stack)"),
                pickle("STOP with values left over", Pickle.proto2().op('N').op('N').stop(),
                        "(STOP): STOP leaves 1 values and 0 marks on the stack"),
                pickle("unknown opcode", Pickle.proto2().raw(0xff).stop(), "(opcode 0xff): unknown opcode 0xff"),
                pickle("text opcode", Pickle.proto2().raw('I', '1', '\n').stop(),
                        "protocol 0 (text) opcode \"I\" is not supported; torch.save writes protocol 2"),
                pickle("protocol 6", new Pickle().raw(0x80, 6).op('N').stop(),
                        "(PROTO): pickle protocol 6 is not supported (at most 5)"),
                pickle("memo entry never stored", Pickle.proto2().raw('h', 7).stop(),
                        "(BINGET): memo entry 7 was never stored"),
                pickle("a list as a dict key", Pickle.proto2().op('}').op(']').op('N').op('s').stop(),
                        "(SETITEM): dict key is a list; only str, int, float, bool and None are supported"),
                pickle("APPEND to a tuple", Pickle.proto2().op(')').op('N').op('a').stop(),
                        "(APPEND): append to a tuple of 0 items; expected a list"),
                pickle("SETITEM on a list", Pickle.proto2().op(']').op('N').op('N').op('s').stop(),
                        "(SETITEM): setitem on a list; expected a dict"),
                pickle("DICT with an odd count", Pickle.proto2().op('(').op('N').op('d').stop(),
                        "(DICT): DICT with an odd number (1) of keys and values"),
                pickle("POP_MARK without MARK", Pickle.proto2().op('1').stop(), "(POP_MARK): no MARK to pop to"),
                pickle("REDUCE of a string", Pickle.proto2().str("x").op(')').op('R').stop(),
                        "(REDUCE): REDUCE calls the string \"x\", which is not a callable global"),
                pickle("BUILD of a plain dict", Pickle.proto2().op('}').op('}').op('b').stop(),
                        "(BUILD): BUILD of a dict is not supported"),
                pickle("NEWOBJ of torch.Size", Pickle.proto2().global("torch", "Size").op(')').raw(0x81).stop(),
                        "(NEWOBJ): NEWOBJ of torch.Size is not supported"),
                pickle("invalid UTF-8", Pickle.proto2().op('X').u32(2).raw(0xc3, 0x28).stop(),
                        "(BINUNICODE): BINUNICODE of 2 bytes is not valid UTF-8"),
                pickle("_codecs.encode as utf-8", Pickle.proto2().global("_codecs", "encode").op('(').str("x")
                        .str("utf-8").op('t').op('R').stop(), "(REDUCE): _codecs.encode is only accepted as (str,"
                        + " 'latin1'), the way pickle writes bytes; got the string \"x\" and the string \"utf-8\""),
                pickle("STACK_GLOBAL of integers", Pickle.proto2().integer(1).integer(2).raw(0x93).stop(),
                        "(STACK_GLOBAL): STACK_GLOBAL needs two strings, got the integer 1 and the integer 2"),
                pickle("OrderedDict with arguments", Pickle.proto2().global("collections", "OrderedDict")
                        .ints(1).op('R').stop(), "collections.OrderedDict called with 1 arguments; expected 0"),
                pickle("Namespace attributes not a dict", Pickle.proto2().global("argparse", "Namespace").op(')')
                        .raw(0x81).integer(3).op('b').stop(),
                        "(BUILD): BUILD of argparse.Namespace with the integer 3; expected an attribute dict"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void craftedInputIsRefusedWithItsOwnMessage(Malformed file) {
        Path path = Pickle.write(folder, "bad.pth", file.content());

        PthException e = assertThrows(PthException.class, () -> PthFile.open(path));

        assertTrue(e.getMessage().startsWith(path + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(file.expected()), "expected \"" + file.expected() + "\" in: "
                + e.getMessage());
        assertTrue(e.getMessage().length() < 600, e.getMessage());
    }

    @Test
    void everyDefectHasADistinctMessage() {
        Map<String, String> labelByMessage = new HashMap<>();
        for (Malformed file : malformed().toList()) {
            Path path = Pickle.write(folder, "bad.pth", file.content());
            String message = assertThrows(PthException.class, () -> PthFile.open(path)).getMessage();
            String earlier = labelByMessage.put(message, file.label());
            assertNull(earlier, file.label() + " and " + earlier + " both give: " + message);
        }
    }

    @Test
    void aHugeExpandedViewOpensButIsNotCopied() throws IOException {
        // A 4-byte storage seen as [2^20, 2^10] with strides (0, 0): 4 GiB if materialized.
        Pickle p = Pickle.proto2().op('}').str("w")
                .tensor("FloatStorage", "0", 1, 0, new long[] {1 << 20, 1 << 10}, new long[] {0, 0}).op('s').stop();
        Path path = Pickle.write(folder, "expanded.pth", p.checkpoint("archive/data/0", new byte[4]));
        try (PthFile pth = PthFile.open(path)) {
            assertEquals(4L << 30, pth.info("w").orElseThrow().byteSize());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> pth.tensor("w"));
            assertEquals(path + ": tensor \"w\" is a view with repeated elements (stride [0, 0]) of 4294967296 bytes"
                    + " over a storage of 4 bytes; such copies are limited to 268435456 bytes", e.getMessage());
            assertThrows(SafetensorsException.class, () -> pth.bytes("w"));
            assertThrows(SafetensorsException.class, () -> pth.tensorAsFloat32("w"));
        }
    }

    @Test
    void aLegacyTarCheckpointGetsTheLegacyMessage() {
        byte[] tar = new byte[1024];
        System.arraycopy("ustar".getBytes(StandardCharsets.US_ASCII), 0, tar, 257, 5);
        Path path = Pickle.write(folder, "old.pth", tar);
        PthException e = assertThrows(PthException.class, () -> PthFile.open(path));
        assertEquals(path + ": legacy PyTorch serialization (not a zip archive); re-save it with a current PyTorch:"
                + " torch.save(torch.load(f), f2)", e.getMessage());
    }

    @Test
    void aMissingFileOrAFolderIsNamed() {
        Path missing = folder.resolve("missing.pth");
        assertEquals(missing + ": no such file",
                assertThrows(PthException.class, () -> PthFile.open(missing)).getMessage());
        assertEquals(folder + ": not a regular file",
                assertThrows(PthException.class, () -> PthFile.open(folder)).getMessage());
    }

    @Test
    void aRefusedFileLeavesNoMappingBehind() throws IOException {
        long mappedBefore = mappedBufferCount();
        try (var _ = PthFile.open(fixture("segmenter.pth"))) {
            assertEquals(mappedBefore + 1, mappedBufferCount(), "the pool must count segment mappings");
        }
        assertEquals(mappedBefore, mappedBufferCount());
        for (String file : List.of("evil_os_system.pth", "short_storage.pth", "big_endian.pth", "torchscript.pt")) {
            assertThrows(PthException.class, () -> PthFile.open(fixture(file)));
        }
        assertEquals(mappedBefore, mappedBufferCount());
    }

    // ---------------------------------------------------------------- helpers

    private static long mappedBufferCount() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("mapped"))
                .mapToLong(BufferPoolMXBean::getCount)
                .sum();
    }

    /** A list of {@code count} empty dicts: about 170 bytes of heap per byte of pickle if nothing stopped it. */
    private static Pickle dictFlood(int count) {
        byte[] dicts = new byte[count];
        Arrays.fill(dicts, (byte) '}');
        return Pickle.proto2().op('(').raw(dicts).op('l').stop();
    }

    /** [[[...]]] nested {@code depth} deep: EMPTY_LIST {@code depth} times, then APPEND {@code depth - 1} times. */
    private static Pickle nestedLists(int depth) {
        byte[] lists = new byte[depth];
        Arrays.fill(lists, (byte) ']');
        byte[] appends = new byte[depth - 1];
        Arrays.fill(appends, (byte) 'a');
        return Pickle.proto2().raw(lists).raw(appends).stop();
    }

    /** Overwrites a little-endian u32 at {@code offset} of the central directory entry called {@code name}. */
    private static byte[] patchCentral(byte[] zip, String name, int offset, int value) {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        for (int p = 0; p + 46 <= zip.length; p++) {
            if (b.getInt(p) == 0x02014b50 && (b.getShort(p + 28) & 0xffff) == nameBytes.length
                    && Arrays.equals(zip, p + 46, p + 46 + nameBytes.length, nameBytes, 0, nameBytes.length)) {
                b.putInt(p + offset, value);
                return zip;
            }
        }
        throw new AssertionError("no central directory entry " + name);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }
}
