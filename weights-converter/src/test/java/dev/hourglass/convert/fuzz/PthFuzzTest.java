package dev.hourglass.convert.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hourglass.convert.pth.PthException;
import dev.hourglass.convert.pth.PthFile;
import dev.hourglass.convert.pth.Pickle;
import dev.hourglass.safetensors.SafetensorsException;
import dev.hourglass.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code .pth} reader (zip archive + restricted unpickler) on mutants of small {@code torch.save} checkpoints, at
 * two levels: the archive's bytes (its records, sizes and offsets), and the pickle inside a re-packed, well-formed
 * archive (where a mutant would otherwise mostly fail the CRC check). Each mutant is read (the object tree, every
 * tensor's bytes and values) or refused with a {@link PthException} naming the file; a single tensor may be refused
 * with a {@link SafetensorsException}, as {@code TensorSource} specifies. Short run by default; see {@link Fuzzer}.
 */
class PthFuzzTest {
    private static final String[] SEEDS = {"pth/untyped_v3.pth", "pth/protocol4.pth", "pth/state_dict.pth",
        "pth/mmseg.pth", "pth/repacked.pth", "pth/segmenter.pth"};
    /** Zip record signatures and pickle opcodes with awkward arguments. */
    private static final List<byte[]> ZIP_TOKENS = Mutator.bytes("PK\u0003\u0004", "PK\u0001\u0002", "PK\u0005\u0006",
            "PK\u0006\u0006", "PK\u0006\u0007", "\u0001\u0000\u0010\u0000", "\u00ff\u00ff\u00ff\u00ff",
            "archive/data.pkl", "archive/data/0", "archive/version", "archive/byteorder", "../", "\u0000");
    private static final List<byte[]> PICKLE_TOKENS = Mutator.bytes("\u0080\u0002", "\u0080\u0005",
            "ctorch._utils\n_rebuild_tensor_v2\n", "ctorch._utils\n_rebuild_parameter\n", "ctorch\nFloatStorage\n",
            "ctorch\nHalfStorage\n", "ctorch\nLongStorage\n", "ccollections\nOrderedDict\n", "cos\nsystem\n",
            "cbuiltins\nset\n", "cargparse\nNamespace\n", "ctorch\nSize\n", "ctorch\ndevice\n", "ctorch\nfloat16\n",
            "\u0093", "(", ")", "t", "\u0085", "\u0086", "\u0087", "R", "b", "}", "]", "s", "u", "a", "e", ".", "0",
            "1", "2", "N", "\u0088", "\u0089", "q\u0000", "q\u00ff", "r\u00ff\u00ff\u00ff\u00ff", "h\u0000",
            "h\u00ff", "j\u00ff\u00ff\u00ff\u007f", "\u0094", "K\u0000", "K\u00ff", "M\u00ff\u00ff",
            "J\u00ff\u00ff\u00ff\u007f", "J\u00ff\u00ff\u00ff\u00ff",
            "\u008a\u0008\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u007f",
            "\u008b\u00ff\u00ff\u00ff\u007f", "X\u00ff\u00ff\u00ff\u007f", "X\u0001\u0000\u0000\u0000\u00ff",
            "\u008c\u00ff", "\u008d\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u007f", "B\u00ff\u00ff\u00ff\u007f",
            "C\u00ff", "\u008e\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0080",
            "\u0095\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u007f",
            "Q", "P", "(X\u0007\u0000\u0000\u0000storageq\u0000", "G\u007f\u00f0\u0000\u0000\u0000\u0000\u0000\u0000",
            "\u0095\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000", "V\u00ff\n", "I99999999999999999999\n", "L-1L\n",
            "F1e400\n", "S'x'\n", "p0\n", "g0\n", "g9\n");

    @TempDir
    Path folder;

    @Test
    void everyArchiveMutantIsReadOrRefused() {
        Mutator mutator = new Mutator(Seeds.read(SEEDS), ZIP_TOKENS);
        Fuzzer.Report report = Fuzzer.run("pth-archive", mutator::mutant, 300, folder.resolve("checkpoint.pth"),
                PthFuzzTest::readEverything, Fuzzer.documented(PthException.class));
        assertTrue(report.read() > 0 && !report.refused().isEmpty(), "the mutants must exercise both outcomes: "
                + report);
    }

    @Test
    void everyPickleMutantIsReadOrRefused() {
        List<Map<String, byte[]>> archives = Arrays.stream(SEEDS).map(this::entries).toList();
        List<Mutator> pickles = archives.stream().map(a -> new Mutator(List.of(pickle(a)), PICKLE_TOKENS)).toList();
        Fuzzer.Report report = Fuzzer.run("pth-pickle", random -> {
            int seed = random.nextInt(archives.size());
            Map<String, byte[]> entries = new LinkedHashMap<>(archives.get(seed));
            entries.put(pickleName(entries), pickles.get(seed).mutant(random));
            if (random.nextInt(8) == 0) {
                cutAStorage(entries, random);
            }
            return Pickle.zip(entries, random.nextInt(4) == 0);
        }, 300, folder.resolve("checkpoint.pth"), PthFuzzTest::readEverything,
                Fuzzer.documented(PthException.class));
        assertTrue(report.read() > 0 && !report.refused().isEmpty(), "the mutants must exercise both outcomes: "
                + report);
    }

    /** Opens the checkpoint and reads what the converter reads: the object tree, metadata, every tensor. */
    static void readEverything(Path file) throws IOException {
        try (PthFile pth = PthFile.open(file)) {
            String.valueOf(pth.root());
            pth.metadata().forEach((k, v) -> {
                if (k == null || v == null) {
                    throw new AssertionError("null metadata entry");
                }
            });
            for (TensorInfo info : pth.tensors()) {
                try {
                    if (pth.bytes(info.name()).byteSize() != info.byteSize()) {
                        throw new AssertionError(info.name() + ": bytes() disagrees with " + info);
                    }
                    if (info.floatType().isPresent() && info.shape().elementCount() <= 1 << 16) {
                        pth.tensor(info.name()).toFloatArray();
                    }
                    if (info.shape().elementCount() <= 1 << 16) {
                        pth.tensorAsFloat32(info.name());
                    }
                } catch (SafetensorsException e) {
                    String why = Fuzzer.documented(SafetensorsException.class).whyNot(e, file);
                    if (why != null) {
                        throw new AssertionError(why, e);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- archives

    /** The entries of a seed archive, read through its central directory (torch.save writes data descriptors). */
    private Map<String, byte[]> entries(String seed) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(Seeds.resource(seed).toFile())) {
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                try (var in = zip.getInputStream(e)) {
                    out.put(e.getName(), in.readAllBytes());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static String pickleName(Map<String, byte[]> entries) {
        return entries.keySet().stream().filter(n -> n.endsWith("/data.pkl")).findFirst()
                .orElseThrow(() -> new IllegalStateException("a seed without data.pkl: " + entries.keySet()));
    }

    private static byte[] pickle(Map<String, byte[]> entries) {
        return entries.get(pickleName(entries));
    }

    /** One storage record shortened: a tensor whose bytes end early. */
    private static void cutAStorage(Map<String, byte[]> entries, SplittableRandom random) {
        List<String> storages = new ArrayList<>(entries.keySet().stream().filter(n -> n.contains("/data/")).toList());
        if (!storages.isEmpty()) {
            String name = storages.get(random.nextInt(storages.size()));
            byte[] content = entries.get(name);
            entries.put(name, Arrays.copyOf(content, content.length == 0 ? 0 : random.nextInt(content.length)));
        }
    }
}
