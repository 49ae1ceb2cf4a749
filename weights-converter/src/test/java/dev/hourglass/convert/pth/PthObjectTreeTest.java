package dev.hourglass.convert.pth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.safetensors.SafetensorsException;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Java values the unpickler builds for every opcode and allowed global a checkpoint may use, from pickles built
 * by hand; the state-dict choice when there is none; Python's spelling of metadata values; and a check that the
 * reader's compiled code cannot start processes or load code at all.
 */
class PthObjectTreeTest {
    @TempDir
    Path folder;

    private Map<?, ?> rootOf(Pickle pickle, Object... storages) throws IOException {
        Path path = Pickle.write(folder, "values.pth", pickle.checkpoint(storages));
        try (PthFile pth = PthFile.open(path)) {
            return assertInstanceOf(Map.class, pth.root());
        }
    }

    @Test
    void everyValueKindComesOutAsItsJavaValue() throws IOException {
        Pickle p = Pickle.proto2().op('}').op('(')
                .str("namespace").global("argparse", "Namespace").op(')').op('R')
                .op('}').op('(').str("lr").raw('G').raw(ByteBuffer.allocate(8).putDouble(0.1).array())
                .str("name").str("x").op('u').op('N').raw(0x86).op('b')
                .str("set").global("__builtin__", "set").op(']').op('(').raw('K', 1).str("a").op('e').raw(0x85)
                .op('R')
                .str("frozenset").op('(').raw('K', 2).raw('K', 3).raw(0x91)
                .str("added").raw(0x8f).op('(').raw('K', 4).raw(0x90)
                .str("bytes").global("_codecs", "encode").str("\u00ff\u0000a").str("latin1").raw(0x86).op('R')
                .str("binbytes").raw('C', 2, 'a', 'b')
                .str("two^64").raw(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1)
                .str("minus one").raw(0x8a, 1, 0xff)
                .str("zero").raw(0x8a, 0)
                .str("int64 min").raw(0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80)
                .str("size").global("torch", "Size").op('(').raw('K', 2).raw('K', 3).op('t').raw(0x85).op('R')
                .str("cuda").global("torch", "device").str("cuda").raw('K', 1).raw(0x86).op('R')
                .str("cpu").global("torch", "device").str("cpu").raw(0x85).op('R')
                .str("dtype").global("torch", "bfloat16")
                .str("shared").op(']').raw('q', 9).raw('K', 5).op('a')
                .str("shared again").raw('h', 9)
                .str("dict").op('(').str("k").raw('K', 1).op('d')
                .str("list").op('(').raw('K', 1).op('N').op('l')
                .str("unicode8").raw(0x8d).u64(2).raw('h', 'i')
                .str("binstring").raw('U', 3).raw("abc".getBytes(StandardCharsets.US_ASCII))
                .str("ordered").global("collections", "OrderedDict").op(')').op('}').raw(0x92)
                .str("dup").op('N').op('2').op('0')
                .str("keys").op('}').op('(').raw('K', 1).str("int").op('N').str("none").raw(0x88).str("bool")
                .raw('G').raw(ByteBuffer.allocate(8).putDouble(2.5).array()).str("float").op('u')
                .op('u').stop();
        Map<?, ?> root = rootOf(p);

        PthObject ns = assertInstanceOf(PthObject.class, root.get("namespace"));
        assertEquals("argparse.Namespace", ns.className());
        assertEquals(Map.of("lr", 0.1, "name", "x"), ns.attributes());
        assertEquals(Set.of(1L, "a"), root.get("set"));
        assertEquals(Set.of(2L, 3L), root.get("frozenset"));
        assertEquals(Set.of(4L), root.get("added"));
        assertArrayEquals(new byte[] {(byte) 0xff, 0, 'a'}, (byte[]) root.get("bytes"));
        assertArrayEquals(new byte[] {'a', 'b'}, (byte[]) root.get("binbytes"));
        assertEquals(BigInteger.ONE.shiftLeft(64), root.get("two^64"));
        assertEquals(-1L, root.get("minus one"));
        assertEquals(0L, root.get("zero"));
        assertEquals(Long.MIN_VALUE, root.get("int64 min"));
        assertEquals(List.of(2L, 3L), root.get("size"));
        assertEquals("cuda:1", root.get("cuda"));
        assertEquals("cpu", root.get("cpu"));
        assertEquals("torch.bfloat16", root.get("dtype"));
        assertEquals(List.of(5L), root.get("shared"));
        assertSame(root.get("shared"), root.get("shared again"), "a memoized list stays one object");
        assertEquals(Map.of("k", 1L), root.get("dict"));
        assertEquals(Arrays.asList(1L, null), root.get("list"));
        assertEquals("hi", root.get("unicode8"));
        assertEquals("abc", root.get("binstring"));
        assertEquals(Map.of(), root.get("ordered"));
        assertNull(root.get("dup"));
        Map<?, ?> keys = assertInstanceOf(Map.class, root.get("keys"));
        assertEquals(Arrays.asList(1L, null, true, 2.5), new ArrayList<>(keys.keySet()));
        assertEquals("int", keys.get(1L));
        assertEquals("none", keys.get(null));
        assertEquals("bool", keys.get(true));
        assertEquals("float", keys.get(2.5));

        for (Object value : root.values()) {
            if (value instanceof List<?> list) {
                assertThrows(UnsupportedOperationException.class, () -> cast(list).add(1));
            } else if (value instanceof Set<?> set) {
                assertThrows(UnsupportedOperationException.class, () -> castSet(set).add(1));
            }
        }
        assertThrows(UnsupportedOperationException.class, () -> ns.attributes().put("x", 1));
    }

    @Test
    void parametersAndTheirFlags() throws IOException {
        Pickle p = Pickle.proto2().op('}').str("w").global("torch._utils", "_rebuild_parameter").op('(')
                .tensor("HalfStorage", "0", 4, 2, new long[] {2}, new long[] {1}).raw(0x88).orderedDict().op('t')
                .op('R').op('s').stop();
        Path path = Pickle.write(folder, "param.pth", p.checkpoint("archive/data/0", new byte[] {1, 0, 2, 0, 3, 0, 4,
            0}));
        try (PthFile pth = PthFile.open(path)) {
            PthTensorRef ref = pth.ref("w").orElseThrow();
            assertTrue(ref.isParameter());
            assertTrue(ref.requiresGrad());
            assertEquals(PthDtype.F16, ref.dtype());
            assertEquals(2, ref.storageOffset());
            assertEquals(3, pth.bytes("w").get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            assertTrue(pth.toString().contains("1 tensors"), pth.toString());
        }
    }

    @Test
    void aCheckpointWithoutStateDictOpensWithNoTensors() throws IOException {
        Path list = Pickle.write(folder, "list.pth", Pickle.proto2().op(']').stop().checkpoint());
        try (PthFile pth = PthFile.open(list)) {
            assertTrue(pth.stateDict().isEmpty());
            assertEquals(List.of(), pth.tensors());
            assertEquals(Map.of(), pth.metadata());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> pth.tensor("w"));
            assertEquals(list + ": no tensor \"w\": this checkpoint has no state dict (its root is a list)",
                    e.getMessage());
        }
        Path scalars = Pickle.write(folder, "scalars.pth", Pickle.proto2().op('}').str("epoch").raw('K', 3)
                .op('s').stop().checkpoint());
        try (PthFile pth = PthFile.open(scalars)) {
            assertEquals(Map.of("epoch", "3"), pth.metadata());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> pth.tensor("w"));
            assertEquals(scalars + ": no tensor \"w\": this checkpoint has no state dict (no \"model\" or"
                    + " \"state_dict\" dict, and no tensor at the top; keys: \"epoch\")", e.getMessage());
        }
        PthException notADict = assertThrows(PthException.class, () -> PthFile.open(list, "model"));
        assertEquals(list + ": the checkpoint is a list, not a dict, so it has no key \"model\"",
                notADict.getMessage());
    }

    @Test
    void stateDictsMayHoldNonTensorEntries() throws IOException {
        Pickle p = Pickle.proto2().op('}').str("model").op('}').op('(')
                .str("a").tensor("FloatStorage", "0", 1, 0, new long[] {}, new long[] {})
                .str("_extra").raw('K', 1)
                .raw('K', 7).tensor("FloatStorage", "0", 1, 0, new long[] {1}, new long[] {1})
                .str("b").tensor("FloatStorage", "0", 1, 0, new long[] {1, 1}, new long[] {1, 1})
                .op('u').op('s').stop();
        Path path = Pickle.write(folder, "mixed.pth", p.checkpoint("archive/data/0", new byte[4]));
        try (PthFile pth = PthFile.open(path)) {
            assertEquals(List.of("a", "b"), pth.names(), "string keys with tensor values only");
            assertEquals("model", pth.stateDictKey().orElseThrow());
            assertEquals(pth.info("a").orElseThrow().end(), pth.info("b").orElseThrow().begin());
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "0.1, 0.1", "0.0005, 0.0005", "1e-05, 1e-05", "0.0001, 0.0001", "2.5e-05, 2.5e-05", "1e16, 1e+16",
        "1.5e16, 1.5e+16", "1e15, 1000000000000000.0", "123456789012345.0, 123456789012345.0", "65536, 65536.0",
        "0.99996, 0.99996", "-0.0, -0.0", "0, 0.0", "4.9e-324, 5e-324", "1.7976931348623157e308, 1.7976931348623157e+308",
        "-3.25, -3.25", "1e100, 1e+100", "1.234e-7, 1.234e-07", "NaN, nan", "Infinity, inf", "-Infinity, -inf",
    })
    void metadataSpellsFloatsAsPythonDoes(double value, String python) {
        assertEquals(python, PthFile.pythonFloat(value));
    }

    /**
     * Nothing in a file can make the reader run code, because the reader's own code cannot: no class of the package
     * refers to process creation, reflection, class loading or scripting (checked in the compiled constant pools).
     */
    @Test
    void theReaderCannotStartProcessesOrLoadCode() throws Exception {
        Path classes = Path.of(PthFile.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("dev/hourglass/convert/pth");
        List<String> forbidden = List.of("java/lang/Runtime", "java/lang/ProcessBuilder", "java/lang/ProcessHandle",
                "java/lang/reflect/Method", "java/lang/reflect/Constructor", "java/lang/ClassLoader", "forName",
                "loadLibrary", "javax/script", "java/io/ObjectInputStream", "MethodHandles$Lookup.find",
                "java/lang/Runtime.exec");
        List<Path> files;
        try (Stream<Path> s = Files.list(classes)) {
            files = s.filter(f -> f.toString().endsWith(".class")).toList();
        }
        assertTrue(files.size() >= 10, "found the compiled classes: " + files);
        for (Path f : files) {
            String constants = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
            for (String name : forbidden) {
                assertFalse(constants.contains(name), f.getFileName() + " refers to " + name);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Object> cast(List<?> list) {
        return (List<Object>) list;
    }

    @SuppressWarnings("unchecked")
    private static Set<Object> castSet(Set<?> set) {
        return (Set<Object>) set;
    }
}
