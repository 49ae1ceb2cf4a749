package dev.hourglass.convert.pth;

import static dev.hourglass.convert.pth.Quote.describe;
import static dev.hourglass.convert.pth.Quote.quote;

import dev.hourglass.safetensors.SafetensorsException;
import dev.hourglass.safetensors.TensorInfo;
import dev.hourglass.safetensors.TensorSource;
import dev.hourglass.tensor.DType;
import dev.hourglass.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * A PyTorch checkpoint written by {@code torch.save} (the zip format, PyTorch 1.6 and later), read in pure Java and
 * without running anything from the file, presented as a {@link TensorSource} so that a converter treats it like a
 * safetensors file.
 *
 * <h2>What is read</h2>
 * The zip archive is memory-mapped whole. Its entries share one folder, {@code <top>} (the folder of the
 * {@code data.pkl} entry, whatever its name): {@code <top>/data.pkl} is the pickled object, {@code <top>/data/<key>}
 * hold the storages' raw little-endian bytes, {@code <top>/byteorder} (optional) must say {@code little}. The pickle
 * is read by a restricted unpickler that builds only dicts, lists, tuples, sets, scalars and tensors, through an
 * allow-list of globals (see {@link #root()}); any other global ({@code os.system}, {@code builtins.eval}, ...) makes
 * {@link #open} fail with a {@link PthException} naming it, and nothing is ever executed. Every size and offset is
 * checked before use: a hostile file ends in a {@link PthException}, not in an {@link OutOfMemoryError}.
 *
 * <h2>The state dict</h2>
 * {@link #open(Path)} picks the state dict whose tensors {@link #tensors()} lists: {@code root["model"]} if that is a
 * dict, else {@code root["state_dict"]} if that is a dict, else the root itself if it is a dict holding at least one
 * tensor; otherwise there is none and {@link #tensors()} is empty (the object tree is still available from
 * {@link #root()}). {@link #open(Path, String)} picks {@code root[key]} instead (for example {@code "model_ema"}).
 * Within the chosen dict, the entries with a string key and a tensor value are the tensors, in dict order; other
 * entries are skipped.
 *
 * <h2>Tensors</h2>
 * Every dtype of {@link PthDtype} is read; {@link TensorInfo#dtype()} is its name ({@code "F32"}, {@code "I64"},
 * ...), and {@link TensorInfo#floatType()} is present for F32, F16 and BF16 only, which {@link #tensor(String)}
 * returns. {@link #bytes(String)} gives any tensor's bytes and {@link #tensorAsFloat32(String)} converts F64/F16/BF16
 * to F32. Tensors may be views (storage offset, any non-negative strides, storages shared between tensors): a
 * contiguous view is returned as a slice of the mapped file (zero-copy; a DEFLATE-compressed storage is inflated once,
 * at open, into memory owned by this object), any other view as a row-major copy on the heap.
 *
 * <p>{@link TensorInfo#begin()} and {@link TensorInfo#end()} give the tensor's place in the <em>contiguous</em> layout
 * these methods produce: the state dict's tensors laid end to end in {@link #tensors()} order, as a safetensors writer
 * would store them. So {@link TensorInfo#byteSize()} is always the size of the tensor returned (element count times
 * element size), whatever the view's strides; where the tensor lies in its storage is in {@link #ref(String)}.
 *
 * <h2>Thread safety</h2>
 * After {@code open} the object is immutable; any number of threads may call its methods and read its tensors at the
 * same time. {@link #close()} unmaps the file and frees inflated storages: every tensor obtained from it that is a
 * slice becomes invalid, and a read through one then fails with an {@link IllegalStateException} instead of touching
 * unmapped memory (copies stay valid). The file must not be modified while it is open.
 */
public final class PthFile implements TensorSource {
    /** Largest {@code data.pkl} accepted: 32 MiB, hundreds of times what a checkpoint with optimizer state needs. */
    public static final int MAX_PICKLE_BYTES = 32 << 20;

    /**
     * Largest copy made of a view that repeats elements (a stride of 0, as {@code expand} makes) and so is larger than
     * the storage it reads: 256 MiB. Any other view is at most as large as its storage.
     */
    public static final long MAX_EXPANDED_COPY_BYTES = 256L << 20;

    /** The keys of the root dict {@link #open(Path)} tries, in order, before the root itself. */
    public static final List<String> STATE_DICT_KEYS = List.of("model", "state_dict");

    private static final String LEGACY = "legacy PyTorch serialization (not a zip archive); re-save it with a current"
            + " PyTorch: torch.save(torch.load(f), f2)";
    private static final byte[] LEGACY_MAGIC = {
        (byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a,
        (byte) 0xa8, 0x50, 0x19,
    };
    private static final int MAX_SMALL_ENTRY = 64;

    /** A tensor of the state dict: its entry and its view. */
    private record Named(TensorInfo info, PthTensorRef ref) {
    }

    private final Path path;
    private final Arena arena;
    private final String top;
    private final Object root;
    private final String stateDictKey;
    private final Map<Object, Object> stateDict;
    private final List<TensorInfo> tensors;
    private final Map<String, Named> byName;
    private final Map<String, MemorySegment> storageBytes;
    private final Map<String, String> metadata;
    private final AtomicBoolean closed = new AtomicBoolean();

    private PthFile(Path path, Arena arena, String top, Object root, String stateDictKey,
                    Map<Object, Object> stateDict, Map<String, Named> byName,
                    Map<String, MemorySegment> storageBytes, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.top = top;
        this.root = root;
        this.stateDictKey = stateDictKey;
        this.stateDict = stateDict;
        this.byName = byName;
        this.tensors = byName.values().stream().map(Named::info).toList();
        this.storageBytes = storageBytes;
        this.metadata = metadata;
    }

    /**
     * Opens a checkpoint and picks its state dict by the rule of the class comment.
     *
     * @throws PthException if the file is not a {@code torch.save} zip archive (a legacy or TorchScript file gets its
     *                      own message), is damaged or inconsistent, or its pickle names a global outside the
     *                      allow-list; the mapping is released before the exception is thrown
     * @throws IOException  if the file cannot be read
     */
    public static PthFile open(Path path) throws IOException {
        return open(path, null, true);
    }

    /**
     * Opens a checkpoint whose state dict is {@code root[key]}, for example {@code "model_ema"}.
     *
     * @throws PthException as {@link #open(Path)}, and if the root is not a dict, has no such key, or its value is not
     *                      a dict
     */
    public static PthFile open(Path path, String key) throws IOException {
        return open(path, Objects.requireNonNull(key, "key"), false);
    }

    private static PthFile open(Path path, String key, boolean automatic) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new PthException(path, Files.exists(path) ? "not a regular file" : "no such file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size == 0) {
                throw new PthException(path, "empty file; not a PyTorch checkpoint");
            }
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            sniff(path, file);
            ZipArchive zip = ZipArchive.read(path, file);
            String top = topFolder(path, zip);
            checkNotTorchScript(path, zip, top);
            checkByteOrder(path, zip, top);
            ZipArchive.Entry pickle = zip.entries().get(top + "/data.pkl");
            byte[] pickleBytes = zip.readSmall(pickle, MAX_PICKLE_BYTES, "the pickled object");

            Map<String, Storage> storages = new HashMap<>();
            Unpickler.Storages resolver = (k, dtype, numel, where) -> storage(path, zip, top, storages, k, dtype,
                    numel, where);
            Object root = ObjectTree.freeze(path, pickle.name(),
                    Unpickler.load(path, pickle.name(), pickleBytes, resolver));

            String chosenKey = key;
            Map<Object, Object> stateDict = automatic ? chooseStateDict(root) : explicitStateDict(path, root, key);
            if (automatic && stateDict != null && stateDict != root) {
                for (String k : STATE_DICT_KEYS) {
                    if (((Map<?, ?>) root).get(k) == stateDict) {
                        chosenKey = k;
                        break;
                    }
                }
            }
            Map<String, Named> byName = new LinkedHashMap<>();
            Map<String, MemorySegment> storageBytes = new HashMap<>();
            if (stateDict != null) {
                long offset = 0;
                for (Map.Entry<Object, Object> e : stateDict.entrySet()) {
                    if (e.getKey() instanceof String name && e.getValue() instanceof PthTensorRef ref) {
                        long bytes = ref.shape().elementCount() * ref.dtype().byteSize();  // checked when read
                        if (bytes > Long.MAX_VALUE - offset) {
                            throw new PthException(path, "the state dict's tensors hold more than 2^63 bytes in all"
                                    + " (at " + tensorLabel(name) + ", shape " + ref.shape() + ")");
                        }
                        TensorInfo info = new TensorInfo(name, ref.dtype().name(), ref.shape(), offset,
                                offset + bytes);
                        offset = info.end();
                        byName.put(name, new Named(info, ref));
                        Storage storage = ref.storage();
                        if (!storageBytes.containsKey(storage.key())) {
                            storageBytes.put(storage.key(), storageSegment(zip, storage, arena));
                        }
                    }
                }
            }
            return new PthFile(path, arena, top, root, chosenKey, stateDict, Collections.unmodifiableMap(byName),
                    Map.copyOf(storageBytes), metadata(root));
        } catch (Throwable t) {
            arena.close();
            throw t;
        }
    }

    // ---------------------------------------------------------------- opening

    /** Tells legacy, TorchScript-less pickle and other non-zip files apart before reading a zip directory. */
    private static void sniff(Path path, MemorySegment file) throws PthException {
        long size = file.byteSize();
        byte[] head = file.asSlice(0, Math.min(size, 16)).toArray(ValueLayout.JAVA_BYTE);
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K'
                && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
            return;
        }
        if (startsWith(head, LEGACY_MAGIC) || (size > 262 && "ustar".equals(new String(
                file.asSlice(257, 5).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1)))) {
            throw new PthException(path, LEGACY);
        }
        if ((head[0] & 0xff) == 0x80) {
            throw new PthException(path, "a bare pickle stream without PyTorch's magic number, not a torch.save"
                    + " checkpoint (not a zip archive)");
        }
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < Math.min(head.length, 4); i++) {
            first.append(i == 0 ? "" : " ").append(String.format("0x%02x", head[i] & 0xff));
        }
        throw new PthException(path, "not a PyTorch checkpoint: not a zip archive (it starts with " + first + ")");
    }

    private static boolean startsWith(byte[] head, byte[] prefix) {
        if (head.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (head[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** The folder holding {@code data.pkl}: exactly one top-level folder may have one. */
    private static String topFolder(Path path, ZipArchive zip) throws PthException {
        List<String> tops = new ArrayList<>();
        for (String name : zip.entries().keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash).equals("/data.pkl")) {
                tops.add(name.substring(0, slash));
            }
        }
        if (tops.size() == 1) {
            return tops.getFirst();
        }
        if (tops.isEmpty()) {
            String names = zip.entries().keySet().stream().limit(8).map(Quote::quote)
                    .collect(Collectors.joining(", "));
            throw new PthException(path, "no <folder>/data.pkl entry, so not a torch.save checkpoint (the zip holds "
                    + zip.entries().size() + " entries" + (names.isEmpty() ? "" : ": " + names)
                    + (zip.entries().size() > 8 ? ", ..." : "") + ")");
        }
        throw new PthException(path, "more than one folder has a data.pkl entry: " + tops.stream().limit(8)
                .map(Quote::quote).collect(Collectors.joining(", ")));
    }

    private static void checkNotTorchScript(Path path, ZipArchive zip, String top) throws PthException {
        boolean constants = zip.entries().containsKey(top + "/constants.pkl");
        boolean code = zip.entries().keySet().stream().anyMatch(n -> n.startsWith(top + "/code/"));
        if (constants || code) {
            throw new PthException(path, "a TorchScript archive (torch.jit.save: it holds "
                    + (constants ? top + "/constants.pkl" : "") + (constants && code ? " and " : "")
                    + (code ? top + "/code/" : "") + "), not a torch.save checkpoint; save its weights with"
                    + " torch.save(torch.jit.load(f).state_dict(), f2)");
        }
    }

    private static void checkByteOrder(Path path, ZipArchive zip, String top) throws PthException {
        ZipArchive.Entry entry = zip.entries().get(top + "/byteorder");
        if (entry == null) {
            return;  // written since PyTorch 2.0; older files are little-endian
        }
        String order = new String(zip.readSmall(entry, MAX_SMALL_ENTRY, "the byte order"),
                StandardCharsets.UTF_8).strip();
        if (order.equals("big")) {
            throw new PthException(path, "big-endian checkpoint (" + entry.name() + " says \"big\"); only"
                    + " little-endian checkpoints are supported: re-save it on a little-endian machine");
        }
        if (!order.equals("little")) {
            throw new PthException(path, entry.name() + " says " + quote(order) + "; expected \"little\" or \"big\"");
        }
    }

    /** Resolves a persistent id: the record must exist, hold the declared bytes, and agree with earlier ids. */
    private static Storage storage(Path path, ZipArchive zip, String top, Map<String, Storage> storages, String key,
                                   PthDtype dtype, long numel, String where) throws PthException {
        Storage known = storages.get(key);
        if (known != null) {
            if (known.dtype() != dtype || known.numel() != numel) {
                throw new PthException(path, where + ": storage " + quote(key) + " is declared as " + numel + " "
                        + dtype + " elements, but earlier as " + known.numel() + " " + known.dtype() + " elements");
            }
            return known;
        }
        String recordName = top + "/data/" + key;
        ZipArchive.Entry record = zip.entries().get(recordName);
        if (record == null) {
            throw new PthException(path, where + ": missing storage record " + quote(recordName) + " for storage "
                    + quote(key) + " (" + numel + " " + dtype + " elements)");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new PthException(path, where + ": storage " + quote(key) + " declares " + numel + " " + dtype
                    + " elements, more than 2^63 bytes");
        }
        if (record.size() < bytes) {
            throw new PthException(path, where + ": storage record " + quote(recordName) + " holds " + record.size()
                    + " bytes, but storage " + quote(key) + " declares " + numel + " " + dtype + " elements ("
                    + bytes + " bytes): truncated");
        }
        Storage storage = new Storage(key, dtype, numel, record);
        storages.put(key, storage);
        return storage;
    }

    /** A storage's declared bytes: a slice of the mapping, or inflated into {@code arena} if compressed. */
    private static MemorySegment storageSegment(ZipArchive zip, Storage storage, Arena arena) throws PthException {
        ZipArchive.Entry record = storage.record();
        if (record.stored()) {
            return zip.slice(record, storage.byteSize()).asReadOnly();
        }
        return zip.inflate(record, arena).asSlice(0, storage.byteSize()).asReadOnly();
    }

    private static Map<Object, Object> chooseStateDict(Object root) {
        if (!(root instanceof Map<?, ?> map)) {
            return null;
        }
        for (String key : STATE_DICT_KEYS) {
            if (map.get(key) instanceof Map<?, ?> dict) {
                return cast(dict);
            }
        }
        return map.values().stream().anyMatch(PthTensorRef.class::isInstance) ? cast(map) : null;
    }

    private static Map<Object, Object> explicitStateDict(Path path, Object root, String key) throws PthException {
        if (!(root instanceof Map<?, ?> map)) {
            throw new PthException(path, "the checkpoint is " + describe(root) + ", not a dict, so it has no key "
                    + quote(key));
        }
        if (!map.containsKey(key)) {
            String keys = map.keySet().stream().limit(12).map(k -> k instanceof String s ? quote(s) : String.valueOf(k))
                    .collect(Collectors.joining(", "));
            throw new PthException(path, "the checkpoint has no key " + quote(key) + " (its keys: " + keys
                    + (map.size() > 12 ? ", ..." : "") + ")");
        }
        if (!(map.get(key) instanceof Map<?, ?> dict)) {
            throw new PthException(path, "checkpoint[" + quote(key) + "] is " + describe(map.get(key))
                    + ", not a dict of tensors");
        }
        return cast(dict);
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> cast(Map<?, ?> map) {
        return (Map<Object, Object>) map;
    }

    /** Top-level scalars of a dict root as strings, and one level into {@link PthObject} values ({@code args.lr}). */
    private static Map<String, String> metadata(Object root) {
        Map<String, String> out = new LinkedHashMap<>();
        if (root instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    continue;
                }
                if (isScalar(e.getValue())) {
                    out.put(key, pythonStr(e.getValue()));
                } else if (e.getValue() instanceof PthObject object) {
                    for (Map.Entry<String, Object> a : object.attributes().entrySet()) {
                        if (isScalar(a.getValue())) {
                            out.put(key + "." + a.getKey(), pythonStr(a.getValue()));
                        }
                    }
                }
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static boolean isScalar(Object v) {
        return v == null || v instanceof String || v instanceof Long || v instanceof BigInteger || v instanceof Double
                || v instanceof Boolean;
    }

    /** Python's {@code str()} of a scalar: {@code None}, {@code True}, {@code 150}, {@code 0.0005}, {@code 1e-06}. */
    static String pythonStr(Object v) {
        return switch (v) {
            case null -> "None";
            case Boolean b -> b ? "True" : "False";
            case Double d -> pythonFloat(d);
            default -> v.toString();
        };
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, exponent form below 1e-4 and from 1e16 on. */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal shortest = shortestDecimal(Math.abs(d));
        String digits = shortest.unscaledValue().toString();
        int exponent = digits.length() - 1 - shortest.scale();  // d = digits[0].digits[1:] x 10^exponent
        String sign = d < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16) {
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "")
                    + Math.abs(exponent);
        }
        String plain = shortest.toPlainString();
        return sign + (plain.contains(".") ? plain : plain + ".0");
    }

    /**
     * The decimal with the fewest significant digits that reads back as {@code d} (positive, finite), the closest to
     * {@code d} among those: what Python's {@code repr} prints. ({@link Double#toString} always shows two digits, so
     * it prints 4.9E-324 where Python prints 5e-324.)
     */
    private static BigDecimal shortestDecimal(double d) {
        BigDecimal exact = new BigDecimal(d);
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal best = null;
            for (RoundingMode mode : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.FLOOR,
                RoundingMode.CEILING}) {
                BigDecimal candidate = exact.round(new MathContext(precision, mode));
                if (candidate.doubleValue() == d && (best == null
                        || candidate.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = candidate;
                }
            }
            if (best != null) {
                return best.stripTrailingZeros();
            }
        }
        return exact.stripTrailingZeros();  // unreachable: 17 significant digits always read back
    }

    // ---------------------------------------------------------------- the object tree

    @Override
    public Path path() {
        return path;
    }

    /** The zip folder holding {@code data.pkl} ({@code "archive"} when saved to a stream, else the file's stem). */
    public String archiveFolder() {
        return top;
    }

    /**
     * The unpickled object, as Java values: {@code Map<Object, Object>} for dicts and OrderedDicts (insertion-ordered,
     * keys are {@code String}, {@code Long}, {@code BigInteger}, {@code Double}, {@code Boolean} or null, as in
     * Python; an OrderedDict's {@code _metadata} attribute is dropped), {@code List<Object>} for lists and tuples (and
     * {@code torch.Size}), {@code Set<Object>} for sets, {@code String}, {@code Long} (an int beyond 64 bits is a
     * {@code BigInteger}), {@code Double}, {@code Boolean}, {@code byte[]} for bytes, null for None,
     * {@link PthTensorRef} for tensors and parameters, {@link PthObject} for an {@code argparse.Namespace}, and strings
     * for dtypes ({@code "torch.float16"}) and devices ({@code "cuda:0"}). All containers are unmodifiable; a container
     * may appear in several places (as in the pickle), never inside itself.
     */
    public Object root() {
        return root;
    }

    /** The state dict {@link #tensors()} lists, or empty if the root had none (see the class comment). */
    public Optional<Map<Object, Object>> stateDict() {
        return Optional.ofNullable(stateDict);
    }

    /** The key of the root whose value is the state dict, or empty when it is the root itself (or there is none). */
    public Optional<String> stateDictKey() {
        return Optional.ofNullable(stateDictKey);
    }

    /**
     * Scalars of the checkpoint as strings: each top-level entry of a dict root whose key is a string and whose value
     * is a str, int, float, bool or None ({@code "n_cls" -> "150"}, {@code "epoch" -> "3"}), and for an
     * {@code argparse.Namespace} value such as DeiT's {@code args}, its scalar attributes as {@code "args.model"} and
     * so on. Values are spelled as Python's {@code str()} would ({@code True}, {@code None}, {@code 1e-06}). In dict
     * order; empty if the root is not a dict.
     */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    // ---------------------------------------------------------------- tensors

    @Override
    public List<TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public Optional<TensorInfo> info(String name) {
        Named n = byName.get(name);
        return n == null ? Optional.empty() : Optional.of(n.info());
    }

    @Override
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** Where the state dict's tensor {@code name} lies in its storage, or empty if there is no such tensor. */
    public Optional<PthTensorRef> ref(String name) {
        Named n = byName.get(name);
        return n == null ? Optional.empty() : Optional.of(n.ref());
    }

    /**
     * The tensor called {@code name}, contiguous and row-major: a slice of the mapped file if the view is contiguous,
     * else a copy on the heap.
     *
     * @throws SafetensorsException  if there is no such tensor, its dtype is not F32, F16 or BF16 (use
     *                               {@link #bytes(String)} or {@link #tensorAsFloat32(String)}), or it is a view
     *                               repeating elements whose copy would exceed {@link #MAX_EXPANDED_COPY_BYTES}
     * @throws IllegalStateException if the file is closed
     */
    @Override
    public Tensor tensor(String name) throws SafetensorsException {
        Named n = named(name);
        DType type = n.ref().dtype().floatType().orElseThrow(() -> new SafetensorsException(path, tensorLabel(name)
                + " has dtype " + n.ref().dtype() + ", which a checkpoint may hold but is not a float weight type"
                + " (supported: F32, F16, BF16); read it with bytes() or tensorAsFloat32()"));
        return Tensor.of(n.ref().shape(), type, contiguous(n));
    }

    /**
     * The bytes of tensor {@code name} of any dtype, contiguous, row-major and little-endian ({@link TensorInfo#byteSize()}
     * bytes): a slice of the mapped file if the view is contiguous, else a copy on the heap. Slices are read-only.
     *
     * @throws SafetensorsException  if there is no such tensor, or it is a view repeating elements whose copy would
     *                               exceed {@link #MAX_EXPANDED_COPY_BYTES}
     * @throws IllegalStateException if the file is closed
     */
    public MemorySegment bytes(String name) throws SafetensorsException {
        return contiguous(named(name));
    }

    /**
     * Tensor {@code name} converted to float32 (a heap copy, except for an F32 tensor, returned as by
     * {@link #tensor(String)}): F64 is rounded to the nearest float, F16 and BF16 are widened exactly.
     *
     * @throws SafetensorsException  if there is no such tensor, it is not a float tensor, or it has more than
     *                               {@code Integer.MAX_VALUE} elements
     * @throws IllegalStateException if the file is closed
     */
    public Tensor tensorAsFloat32(String name) throws SafetensorsException {
        Named n = named(name);
        PthDtype dtype = n.ref().dtype();
        if (dtype == PthDtype.F32) {
            return tensor(name);
        }
        if (dtype != PthDtype.F64 && dtype != PthDtype.F16 && dtype != PthDtype.BF16) {
            throw new SafetensorsException(path, tensorLabel(name) + " has dtype " + dtype
                    + ", not a float type (F64, F32, F16, BF16) that converts to F32");
        }
        long count = n.ref().shape().elementCount();
        if (count > Integer.MAX_VALUE) {
            throw new SafetensorsException(path, tensorLabel(name) + " has " + count + " elements, too many for one"
                    + " float array");
        }
        MemorySegment src = contiguous(n);
        float[] out = new float[(int) count];
        if (dtype == PthDtype.F64) {
            ValueLayout.OfDouble f64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) src.get(f64, 8L * i);
            }
        } else {
            dtype.floatType().orElseThrow().toFloats(src, 0, out, 0, out.length);
        }
        return Tensor.ofFloats(out, n.ref().shape());
    }

    private Named named(String name) throws SafetensorsException {
        Named n = byName.get(name);
        if (n == null) {
            String where = stateDict == null ? "this checkpoint has no state dict" + (root instanceof Map<?, ?> m
                    ? " (no \"model\" or \"state_dict\" dict, and no tensor at the top; keys: " + m.keySet().stream()
                    .limit(12).map(k -> k instanceof String s ? quote(s) : String.valueOf(k))
                    .collect(Collectors.joining(", ")) + ")" : " (its root is " + describe(root) + ")")
                    : "it is not in the state dict " + (stateDictKey == null ? "(the root)" : "checkpoint["
                    + quote(stateDictKey) + "]") + ", which holds " + tensors.size() + " tensors";
            throw new SafetensorsException(path, "no " + tensorLabel(name) + ": " + where);
        }
        if (closed.get()) {
            throw new IllegalStateException(path + ": file is closed");
        }
        return n;
    }

    private MemorySegment contiguous(Named n) throws SafetensorsException {
        PthTensorRef ref = n.ref();
        MemorySegment storage = storageBytes.get(ref.storageKey());
        int elementSize = ref.dtype().byteSize();
        long bytes = n.info().byteSize();
        if (bytes == 0) {
            return storage.asSlice(0, 0);
        }
        if (ref.isContiguous()) {
            return storage.asSlice(ref.storageOffset() * elementSize, bytes);
        }
        if (bytes > storage.byteSize() && bytes > MAX_EXPANDED_COPY_BYTES) {
            throw new SafetensorsException(path, tensorLabel(n.info().name()) + " is a view with repeated elements"
                    + " (stride " + Quote.list(ref.stride()) + ") of " + bytes + " bytes over a storage of "
                    + storage.byteSize() + " bytes; such copies are limited to " + MAX_EXPANDED_COPY_BYTES + " bytes");
        }
        if (bytes > (long) Integer.MAX_VALUE * Long.BYTES) {
            throw new SafetensorsException(path, tensorLabel(n.info().name()) + " is a non-contiguous view of "
                    + bytes + " bytes, too large to copy to the heap");
        }
        MemorySegment copy = MemorySegment.ofArray(new long[(int) ((bytes + 7) / 8)]).asSlice(0, bytes);
        StridedCopy.gather(storage, ref.storageOffset(), ref.shape().dims(), ref.stride(), elementSize, copy);
        return copy;
    }

    private static String tensorLabel(String name) {
        return "tensor " + quote(name);
    }

    /** Unmaps the file and frees inflated storages; every slice handed out becomes invalid. Twice does nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "PthFile[" + path + ", " + tensors.size() + " tensors" + (stateDictKey == null ? "" : " in "
                + quote(stateDictKey)) + "]";
    }
}
