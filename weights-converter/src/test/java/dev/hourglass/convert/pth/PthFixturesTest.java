package dev.hourglass.convert.pth;

import static dev.hourglass.convert.pth.Pickle.fixture;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hourglass.safetensors.SafetensorsException;
import dev.hourglass.safetensors.SafetensorsFile;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Shape;
import dev.hourglass.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Checkpoints written by torch.save (tools/make_pth_fixtures.py): every tensor must come out exactly as PyTorch
 * holds it (F16/BF16 bit for bit), with the layout, views, state-dict choice and metadata the fixture's
 * {@code .expected.json} records.
 */
class PthFixturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "state_dict, state_dict",
        "segmenter, segmenter",
        "deit, deit",
        "mmseg, mmseg",
        "protocol4, protocol4",
        "repacked, state_dict",
        "untyped_v3, untyped_v3",
    })
    void everyTensorMatchesPyTorch(String checkpoint, String expectedCase) throws IOException {
        JsonNode expected = JSON.readTree(fixture(expectedCase + ".expected.json").toFile());
        try (PthFile pth = PthFile.open(fixture(checkpoint + ".pth"));
             SafetensorsFile floats = SafetensorsFile.open(fixture(expectedCase + ".expected.safetensors"))) {
            JsonNode key = expected.get("state_dict_key");
            assertEquals(key.isNull() ? null : key.asText(), pth.stateDictKey().orElse(null));
            assertEquals(checkpoint.equals("repacked") ? "my-model.v2" : expected.get("top").asText(),
                    pth.archiveFolder());

            List<String> names = new ArrayList<>();
            expected.get("tensors").forEach(t -> names.add(t.get("name").asText()));
            assertEquals(names, pth.names());

            long offset = 0;
            for (JsonNode t : expected.get("tensors")) {
                String name = t.get("name").asText();
                TensorInfo info = pth.info(name).orElseThrow();
                PthTensorRef ref = pth.ref(name).orElseThrow();
                PthDtype dtype = PthDtype.valueOf(t.get("dtype").asText());
                Shape shape = Shape.of(longs(t.get("shape")));
                assertEquals(dtype.name(), info.dtype(), name);
                assertEquals(shape, info.shape(), name);
                assertEquals(offset, info.begin(), name + ": laid out end to end");
                assertEquals(shape.elementCount() * dtype.byteSize(), info.byteSize(), name);
                offset = info.end();
                assertEquals(dtype, ref.dtype(), name);
                assertArrayEquals(longs(t.get("stride")), ref.stride(), name);
                assertEquals(t.get("storage_offset").asLong(), ref.storageOffset(), name);
                assertEquals(t.get("storage_key").asText(), ref.storageKey(), name);
                assertEquals(t.get("contiguous").asBoolean(), ref.isContiguous(), name);
                assertEquals(t.get("parameter").asBoolean(), ref.isParameter(), name);

                MemorySegment bytes = pth.bytes(name);
                assertEquals(info.byteSize(), bytes.byteSize(), name);
                if (info.floatType().isPresent()) {
                    Tensor tensor = pth.tensor(name);
                    assertEquals(shape, tensor.shape(), name);
                    assertEquals(info.floatType().get(), tensor.dtype(), name);
                    Tensor want = floats.tensor(name);
                    assertEquals(want.dtype(), tensor.dtype(), name);
                    assertEquals(-1, MemorySegment.mismatch(want.data(), 0, want.data().byteSize(), tensor.data(), 0,
                            tensor.data().byteSize()), name + ": bit for bit");
                } else {
                    assertValues(name, dtype, t.get("values"), bytes);
                    SafetensorsException e = assertThrows(SafetensorsException.class, () -> pth.tensor(name));
                    assertTrue(e.getMessage().contains("has dtype " + dtype + ", which a checkpoint may hold but is"
                            + " not a float weight type"), e.getMessage());
                }

                // Zero-copy for contiguous views of stored records; a heap copy otherwise.
                boolean compressed = checkpoint.equals("repacked");
                if (ref.isContiguous() && info.byteSize() > 0) {
                    assertEquals(!compressed, bytes.isMapped(), name + ": a slice of the mapped file");
                    assertTrue(bytes.isNative() && bytes.isReadOnly(), name);
                } else if (!ref.isContiguous()) {
                    assertFalse(bytes.isNative(), name + ": a heap copy");
                }
            }
            Map<String, String> metadata = textMap(expected.get("metadata"));
            assertEquals(metadata, pth.metadata());
            assertEquals(new ArrayList<>(metadata.keySet()), new ArrayList<>(pth.metadata().keySet()), "in dict order");
        }
    }

    private static void assertValues(String name, PthDtype dtype, JsonNode values, MemorySegment bytes) {
        assertEquals(values.size() * (long) dtype.byteSize(), bytes.byteSize(), name);
        for (int i = 0; i < values.size(); i++) {
            JsonNode v = values.get(i);
            switch (dtype) {
                case I64 -> assertEquals(v.asLong(), bytes.get(LE_LONG, 8L * i), name);
                case I32 -> assertEquals(v.asLong(), bytes.get(LE_INT, 4L * i), name);
                case U8 -> assertEquals(v.asLong(), bytes.get(ValueLayout.JAVA_BYTE, i) & 0xff, name);
                case BOOL -> assertEquals(v.asBoolean() ? 1 : 0, bytes.get(ValueLayout.JAVA_BYTE, i), name);
                case F64 -> assertEquals(v.asDouble(), bytes.get(LE_DOUBLE, 8L * i), name);
                default -> throw new AssertionError(name + ": no expected values for " + dtype);
            }
        }
    }

    private static final ValueLayout.OfLong LE_LONG =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_DOUBLE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void viewsOfOneStorageAreSlicesOfTheSameMappedBytes() throws IOException {
        try (PthFile pth = PthFile.open(fixture("state_dict.pth"))) {
            Tensor base = pth.tensor("f32");
            Tensor row = pth.tensor("f32_row");
            assertTrue(base.data().isMapped() && row.data().isMapped());
            assertEquals(base.data().address() + 12 * 4, row.data().address(), "row 2 starts at element 12");

            float[] b = base.toFloatArray();  // [4, 6]
            float[] t = pth.tensor("f32_t").toFloatArray();  // [6, 4]
            float[] slice = pth.tensor("f32_slice").toFloatArray();  // base[1:3, 2:5]
            float[] everyOther = pth.tensor("f32_every_other").toFloatArray();  // base[:, ::2]
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 6; j++) {
                    assertEquals(b[i * 6 + j], t[j * 4 + i]);
                }
                for (int j = 0; j < 3; j++) {
                    assertEquals(b[i * 6 + 2 * j], everyOther[i * 3 + j]);
                }
            }
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    assertEquals(b[(i + 1) * 6 + j + 2], slice[i * 3 + j]);
                }
            }
            float[] expanded = pth.tensor("f32_expand").toFloatArray();  // [3, 1] expanded to [3, 4]: stride 0
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 4; j++) {
                    assertEquals(expanded[i * 4], expanded[i * 4 + j]);
                }
            }
        }
    }

    @Test
    void scalarsEmptyTensorsAndParameters() throws IOException {
        try (PthFile pth = PthFile.open(fixture("state_dict.pth"))) {
            Tensor scalar = pth.tensor("scalar");
            assertEquals(0, scalar.shape().rank());
            assertArrayEquals(new float[] {3.25f}, scalar.toFloatArray());
            Tensor empty = pth.tensor("empty");
            assertEquals(Shape.of(0, 3), empty.shape());
            assertEquals(0, empty.data().byteSize());
            assertTrue(pth.ref("param").orElseThrow().isParameter());
            assertFalse(pth.ref("f32").orElseThrow().isParameter());
            assertEquals(42L, pth.bytes("bn.num_batches_tracked").get(LE_LONG, 0));
        }
    }

    @Test
    void convertsFloatTypesToFloat32OnRequest() throws IOException {
        try (PthFile pth = PthFile.open(fixture("state_dict.pth"))) {
            float[] f64 = pth.tensorAsFloat32("f64").toFloatArray();
            MemorySegment raw = pth.bytes("f64");
            for (int i = 0; i < 4; i++) {
                assertEquals((float) raw.get(LE_DOUBLE, 8L * i), f64[i]);
            }
            assertArrayEquals(pth.tensor("f16_t").toFloatArray(), pth.tensorAsFloat32("f16_t").toFloatArray());
            assertArrayEquals(pth.tensor("bf16_perm").toFloatArray(), pth.tensorAsFloat32("bf16_perm").toFloatArray());
            assertEquals(DType.F32, pth.tensorAsFloat32("bf16").dtype());
            assertSame(DType.F32, pth.tensorAsFloat32("f32").dtype());
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> pth.tensorAsFloat32("mask"));
            assertTrue(e.getMessage().contains("tensor \"mask\" has dtype BOOL, not a float type"), e.getMessage());
        }
    }

    @Test
    void theSegmenterCheckpointKeepsItsNonTensorValues() throws IOException {
        try (PthFile pth = PthFile.open(fixture("segmenter.pth"))) {
            Map<?, ?> root = assertInstanceOf(Map.class, pth.root());
            assertEquals(List.of("model", "optimizer", "n_cls", "lr_scheduler", "loss_scaler", "epoch"),
                    new ArrayList<>(root.keySet()));
            assertEquals(150L, root.get("n_cls"));
            assertTrue(root.containsKey("loss_scaler"));
            assertNull(root.get("loss_scaler"));
            assertSame(root.get("model"), pth.stateDict().orElseThrow());
            Map<?, ?> optimizer = (Map<?, ?>) root.get("optimizer");
            Map<?, ?> state = (Map<?, ?>) optimizer.get("state");
            assertEquals(0L, state.keySet().iterator().next(), "optimizer state is keyed by int");
            Map<?, ?> first = (Map<?, ?>) state.get(0L);
            assertInstanceOf(PthTensorRef.class, first.get("momentum_buffer"));
            Map<?, ?> group = (Map<?, ?>) ((List<?>) optimizer.get("param_groups")).getFirst();
            assertEquals(0.9, group.get("momentum"));
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), group.get("params"));
            assertEquals(Map.of("n_cls", "150", "loss_scaler", "None", "epoch", "3"), pth.metadata());
            assertThrows(UnsupportedOperationException.class, () -> cast(root).put("x", 1));
        }
    }

    @Test
    void deitArgsAreAnOpaqueNamespaceAndTheEmaWeightsCanBeChosen() throws IOException {
        try (PthFile pth = PthFile.open(fixture("deit.pth"))) {
            Map<?, ?> root = (Map<?, ?>) pth.root();
            PthObject args = assertInstanceOf(PthObject.class, root.get("args"));
            assertEquals("argparse.Namespace", args.className());
            assertEquals("deit_tiny_patch16_224", args.attributes().get("model"));
            assertEquals(List.of(0.9, 0.999), args.attributes().get("betas"));
            assertTrue(args.attributes().containsKey("opt_betas"));
            assertEquals("deit_tiny_patch16_224", pth.metadata().get("args.model"));
            assertEquals("0.0005", pth.metadata().get("args.lr"));
            assertEquals("1e-08", pth.metadata().get("args.opt_eps"));
            assertEquals("model", pth.stateDictKey().orElseThrow());

            try (PthFile ema = PthFile.open(fixture("deit.pth"), "model_ema")) {
                assertEquals("model_ema", ema.stateDictKey().orElseThrow());
                assertEquals(pth.names(), ema.names());
                for (String name : pth.names()) {
                    float[] model = pth.tensor(name).toFloatArray();
                    float[] averaged = ema.tensor(name).toFloatArray();
                    for (int i = 0; i < model.length; i++) {
                        assertEquals(model[i] * 0.5f, averaged[i], name);
                    }
                }
            }
        }
    }

    @Test
    void aBareStateDictIsItsOwnStateDict() throws IOException {
        try (PthFile pth = PthFile.open(fixture("state_dict.pth"))) {
            assertSame(pth.root(), pth.stateDict().orElseThrow());
            assertTrue(pth.stateDictKey().isEmpty());
            assertEquals(Map.of(), pth.metadata());
        }
    }

    @Test
    void explicitKeysThatAreNotStateDictsAreRefused() throws IOException {
        Path path = fixture("segmenter.pth");
        PthException noKey = assertThrows(PthException.class, () -> PthFile.open(path, "model_ema"));
        assertEquals(path + ": the checkpoint has no key \"model_ema\" (its keys: \"model\", \"optimizer\","
                + " \"n_cls\", \"lr_scheduler\", \"loss_scaler\", \"epoch\")", noKey.getMessage());
        PthException notADict = assertThrows(PthException.class, () -> PthFile.open(path, "n_cls"));
        assertEquals(path + ": checkpoint[\"n_cls\"] is the integer 150, not a dict of tensors",
                notADict.getMessage());
        try (PthFile optimizer = PthFile.open(path, "optimizer")) {
            assertEquals(List.of(), optimizer.tensors(), "a dict without string-keyed tensors lists none");
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> optimizer.tensor("state"));
            assertEquals(path + ": no tensor \"state\": it is not in the state dict checkpoint[\"optimizer\"], which"
                    + " holds 0 tensors", e.getMessage());
        }
    }

    @Test
    void closingInvalidatesSlicesButNotCopies() throws IOException {
        PthFile pth = PthFile.open(fixture("state_dict.pth"));
        Tensor slice = pth.tensor("f32");
        Tensor copy = pth.tensor("f32_t");
        float[] before = copy.toFloatArray();
        pth.close();
        pth.close();
        assertThrows(IllegalStateException.class, slice::toFloatArray);
        assertArrayEquals(before, copy.toFloatArray());
        assertThrows(IllegalStateException.class, () -> pth.tensor("f32"));
        SafetensorsException missing = assertThrows(SafetensorsException.class, () -> pth.tensor("nope"));
        assertTrue(missing.getMessage().endsWith(": no tensor \"nope\": it is not in the state dict (the root),"
                + " which holds 19 tensors"), missing.getMessage());
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static Map<String, String> textMap(JsonNode object) {
        Map<String, String> out = new LinkedHashMap<>();
        object.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> cast(Map<?, ?> map) {
        return (Map<Object, Object>) map;
    }
}
