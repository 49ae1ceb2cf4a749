package dev.hourglass.convert.pth;

import static dev.hourglass.convert.pth.Quote.describe;
import static dev.hourglass.convert.pth.Quote.quote;

import dev.hourglass.tensor.Shape;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle reader that builds only what a checkpoint needs, and builds it in Java: dicts, lists, tuples, sets,
 * strings, numbers, bytes, and tensors through the allow-listed globals of {@link Global}. A pickle can ask the Python
 * unpickler to call any importable function ({@code os.system} included); this one resolves no name to code and runs
 * nothing from the file: a GLOBAL outside the allow-list is refused where it appears, before anything could use it.
 *
 * <p>Supported: the opcodes of protocols 2 to 5 that {@code torch.save} and Python's pickler emit for such values
 * (protocol 0/1 text opcodes, extension codes and out-of-band buffers are refused). Bounded: every length is checked
 * against the bytes actually left before anything is allocated; the heap the values take is estimated as they are
 * built (each container, entry, string, memo slot is charged a conservative size) and capped at
 * {@link #MAX_VALUE_BYTES}, so a small pickle cannot make a large heap (a flood of EMPTY_DICT opcodes would otherwise
 * cost over 100 bytes of heap per byte of pickle); ranks, long integers and global names have small limits; dict keys
 * and set elements must be scalars (so no hashing of deep structures). The result still has to go through
 * {@link ObjectTree#freeze}.
 *
 * <p>Not thread-safe; one instance reads one pickle.
 */
final class Unpickler {
    /**
     * Cap on the estimated heap the unpickled values take: 64 MiB. A checkpoint is charged about 2.5 KB per tensor
     * (measured on the test fixtures; a parameter with AdamW state and an EMA copy is five tensors, about 12 KB), so
     * this admits about 25 000 tensors, or 5 000 parameters with full training state (a ViT-L has about 300).
     */
    static final long MAX_VALUE_BYTES = 64L << 20;

    /** Estimated cost of a container: the object, its unmodifiable view, and the freezing pass's bookkeeping. */
    private static final long CONTAINER_BYTES = 160;
    /** Estimated cost of one dict or set entry (a hash node and its table slot). */
    private static final long ENTRY_BYTES = 48;
    /** Estimated cost of one list, tuple or stack slot. */
    private static final long SLOT_BYTES = 8;
    /** Estimated cost of one memo entry (a hash node, its boxed key and table slot). */
    private static final long MEMO_BYTES = 64;

    /** Largest tensor rank accepted (PyTorch's own limit is 64 too). */
    static final int MAX_RANK = 64;

    /** Longest module or name of a GLOBAL, in bytes. */
    private static final int MAX_GLOBAL_NAME = 1024;

    /** Longest LONG1/LONG4 integer, in bytes. */
    private static final int MAX_LONG_BYTES = 1024;

    /** Looks up (and checks) the storage a persistent id names. */
    @FunctionalInterface
    interface Storages {
        /**
         * @param where where the persistent id is, for messages, e.g. {@code archive/data.pkl byte 154 (BINPERSID)}
         */
        Storage storage(String key, PthDtype dtype, long numel, String where) throws PthException;
    }

    private final Path file;
    private final String entryName;
    private final byte[] in;
    private final Storages storages;
    private final ArrayList<Object> stack = new ArrayList<>();
    private int[] marks = new int[16];
    private int markCount;
    private final Map<Long, Object> memo = new HashMap<>();
    /** Maps made by {@code collections.OrderedDict}: BUILD may give them attributes ({@code _metadata}). */
    private final Set<Object> orderedDicts = Collections.newSetFromMap(new IdentityHashMap<>());
    private int pos;
    private int opStart;
    private int op;
    private long charged;

    private Unpickler(Path file, String entryName, byte[] in, Storages storages) {
        this.file = file;
        this.entryName = entryName;
        this.in = in;
        this.storages = storages;
    }

    /**
     * Reads the pickle {@code in} (the content of zip entry {@code entryName}) up to its STOP opcode; bytes after it
     * are ignored, as Python does.
     *
     * @return the unpickled value, not yet frozen: mutable containers that {@link ObjectTree#freeze} must check
     */
    static Object load(Path file, String entryName, byte[] in, Storages storages) throws PthException {
        return new Unpickler(file, entryName, in, storages).run();
    }

    private Object run() throws PthException {
        while (true) {
            if (pos >= in.length) {
                opStart = pos;
                op = -1;
                throw fail("the pickle ends without a STOP opcode (truncated)");
            }
            opStart = pos;
            op = in[pos++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int version = u8();
                    if (version > 5) {
                        throw fail("pickle protocol " + version + " is not supported (at most 5)");
                    }
                }
                case 0x95 -> { // FRAME: only a read-ahead hint
                    long length = u64();
                    if (length < 0 || length > in.length - pos) {
                        throw fail("frame length " + Long.toUnsignedString(length) + " exceeds the " + (in.length - pos)
                                + " bytes left");
                    }
                }
                case '.' -> { // STOP
                    Object value = pop();
                    if (!stack.isEmpty() || markCount > 0) {
                        throw fail("STOP leaves " + stack.size() + " values and " + markCount + " marks on the stack");
                    }
                    return value;
                }
                case '(' -> mark();
                case '0' -> { // POP
                    if (stack.size() > markBase()) {
                        stack.removeLast();
                    } else {
                        popMark();
                    }
                }
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(top()); // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push(fresh((long) i32())); // BININT
                case 'K' -> push(fresh((long) u8())); // BININT1
                case 'M' -> push(fresh((long) u16())); // BININT2
                case 0x8a -> push(fresh(longInteger(u8()))); // LONG1
                case 0x8b -> { // LONG4
                    int n = i32();
                    if (n < 0 || n > MAX_LONG_BYTES) {
                        throw fail("LONG4 integer of " + n + " bytes (at most " + MAX_LONG_BYTES + " accepted)");
                    }
                    push(fresh(longInteger(n)));
                }
                case 'G' -> { // BINFLOAT, big-endian
                    need(8);
                    push(fresh(ByteBuffer.wrap(in, pos, 8).getDouble()));
                    pos += 8;
                }
                case 'X' -> push(fresh(utf8(u32(), "BINUNICODE")));
                case 0x8c -> push(fresh(utf8(u8(), "SHORT_BINUNICODE")));
                case 0x8d -> push(fresh(utf8(u64(), "BINUNICODE8")));
                case 'T' -> { // BINSTRING: a Python 2 str, decoded as torch.load does (UTF-8)
                    int n = i32();
                    if (n < 0) {
                        throw fail("BINSTRING length " + n + " is negative");
                    }
                    push(fresh(utf8(n, "BINSTRING")));
                }
                case 'U' -> push(fresh(utf8(u8(), "SHORT_BINSTRING")));
                case 'B' -> push(fresh(bytes(u32(), "BINBYTES")));
                case 'C' -> push(fresh(bytes(u8(), "SHORT_BINBYTES")));
                case 0x8e -> push(fresh(bytes(u64(), "BINBYTES8")));
                case '}' -> push(fresh(new LinkedHashMap<>())); // EMPTY_DICT
                case ']' -> push(fresh(new ArrayList<>())); // EMPTY_LIST
                case ')' -> push(Tuple.EMPTY); // EMPTY_TUPLE
                case 0x8f -> push(fresh(new LinkedHashSet<>())); // EMPTY_SET
                case 'd' -> { // DICT
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw fail("DICT with an odd number (" + items.size() + ") of keys and values");
                    }
                    Map<Object, Object> map = new LinkedHashMap<>();
                    for (int i = 0; i < items.size(); i += 2) {
                        map.put(key(items.get(i), "dict key"), items.get(i + 1));
                    }
                    push(fresh(map));
                }
                case 'l' -> push(fresh(new ArrayList<>(popMark()))); // LIST
                case 't' -> push(fresh(new Tuple(popMark().toArray()))); // TUPLE
                case 0x85 -> push(fresh(new Tuple(new Object[] {pop()}))); // TUPLE1
                case 0x86 -> { // TUPLE2
                    Object b = pop();
                    Object a = pop();
                    push(fresh(new Tuple(new Object[] {a, b})));
                }
                case 0x87 -> { // TUPLE3
                    Object c = pop();
                    Object b = pop();
                    Object a = pop();
                    push(fresh(new Tuple(new Object[] {a, b, c})));
                }
                case 0x91 -> { // FROZENSET
                    Set<Object> set = new LinkedHashSet<>();
                    for (Object item : popMark()) {
                        set.add(key(item, "set element"));
                    }
                    push(fresh(set));
                }
                case 'a' -> { // APPEND
                    Object value = pop();
                    charge(SLOT_BYTES);
                    list(top()).add(value);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    charge(SLOT_BYTES * items.size());
                    list(top()).addAll(items);
                }
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popMark();
                    if (!(top() instanceof Set<?>)) {
                        throw fail("ADDITEMS to " + describe(top()) + "; expected a set");
                    }
                    @SuppressWarnings("unchecked")
                    Set<Object> set = (Set<Object>) top();
                    charge(ENTRY_BYTES * items.size());
                    for (Object item : items) {
                        set.add(key(item, "set element"));
                    }
                }
                case 's' -> { // SETITEM
                    Object value = pop();
                    Object key = pop();
                    charge(ENTRY_BYTES);
                    map(top()).put(key(key, "dict key"), value);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw fail("SETITEMS with an odd number (" + items.size() + ") of keys and values");
                    }
                    Map<Object, Object> map = map(top());
                    charge(ENTRY_BYTES * (items.size() / 2));
                    for (int i = 0; i < items.size(); i += 2) {
                        map.put(key(items.get(i), "dict key"), items.get(i + 1));
                    }
                }
                case 'q' -> memoPut(u8()); // BINPUT
                case 'r' -> memoPut(u32()); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'h' -> push(memoGet(u8())); // BINGET
                case 'j' -> push(memoGet(u32())); // LONG_BINGET
                case 'c' -> { // GLOBAL
                    String module = line("module");
                    String name = line("name");
                    push(global(module, name));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("STACK_GLOBAL needs two strings, got " + describe(module) + " and "
                                + describe(name));
                    }
                    push(global(m, n));
                }
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(fresh(call(callable, args)));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = pop();
                    Object cls = pop();
                    push(fresh(newObject(cls, args)));
                }
                case 0x92 -> { // NEWOBJ_EX
                    Object kwargs = pop();
                    Object args = pop();
                    Object cls = pop();
                    if (!(kwargs instanceof Map<?, ?> m) || !m.isEmpty()) {
                        throw fail("NEWOBJ_EX with keyword arguments " + describe(kwargs) + " is not supported");
                    }
                    push(fresh(newObject(cls, args)));
                }
                case 'b' -> { // BUILD
                    Object state = pop();
                    build(top(), state);
                }
                case 'Q' -> push(persistentId(pop())); // BINPERSID
                case 0x82, 0x83, 0x84 -> throw fail("extension registry codes (EXT1/EXT2/EXT4) are not supported");
                case 0x96, 0x97, 0x98 -> throw fail("out-of-band buffers (protocol 5) are not supported");
                case 'I', 'L', 'F', 'S', 'V', 'P', 'g', 'p', 'i', 'o' -> throw fail("protocol 0 (text) opcode "
                        + quote(String.valueOf((char) op)) + " is not supported; torch.save writes protocol 2");
                default -> throw fail("unknown opcode 0x" + Integer.toHexString(op) + " (damaged pickle, or not one)");
            }
        }
    }

    // ---------------------------------------------------------------- calls

    private Global global(String module, String name) throws PthException {
        return Global.lookup(module, name).orElseThrow(() -> fail("global " + globalName(module, name)
                + " is not allowed in a checkpoint: only state-dict types are built (collections.OrderedDict,"
                + " torch tensors, storages, dtypes, Size and device, argparse.Namespace, set, bytes); the file is"
                + " refused and nothing in it was executed"));
    }

    private Object call(Object callable, Object argsValue) throws PthException {
        if (!(callable instanceof Global g)) {
            throw fail("REDUCE calls " + describe(callable) + ", which is not a callable global");
        }
        Tuple args = tuple(argsValue, "the arguments of " + g.qualifiedName());
        return switch (g.kind()) {
            case ORDERED_DICT -> {
                arity(g, args, 0, 0);
                Map<Object, Object> map = new LinkedHashMap<>();
                orderedDicts.add(map);
                yield map;
            }
            case SET -> {
                arity(g, args, 0, 1);
                Set<Object> set = new LinkedHashSet<>();
                if (args.size() == 1) {
                    for (Object item : sequence(args.get(0), "the argument of " + g.qualifiedName())) {
                        set.add(key(item, "set element"));
                    }
                }
                yield set;
            }
            case CODECS_ENCODE -> latin1(g, args);
            case REBUILD_TENSOR -> {
                arity(g, args, 4, 4);
                yield tensor(g, args, null, false);
            }
            case REBUILD_TENSOR_V2 -> {
                arity(g, args, 6, 7);
                yield tensor(g, args, null, bool(args.get(4), "requires_grad of " + g.qualifiedName()));
            }
            case REBUILD_TENSOR_V3 -> {
                arity(g, args, 7, 8);
                if (!(args.get(6) instanceof Global d) || d.kind() != Global.Kind.DTYPE) {
                    throw fail("the dtype argument of " + g.qualifiedName() + " is " + describe(args.get(6))
                            + "; expected a torch dtype such as torch.float16");
                }
                yield tensor(g, args, d.dtype(), bool(args.get(4), "requires_grad of " + g.qualifiedName()));
            }
            case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
                boolean withState = g.kind() == Global.Kind.REBUILD_PARAMETER_WITH_STATE;
                arity(g, args, withState ? 4 : 3, withState ? 4 : 3);
                if (!(args.get(0) instanceof PthTensorRef t)) {
                    throw fail("the data argument of " + g.qualifiedName() + " is " + describe(args.get(0))
                            + "; expected a tensor");
                }
                hooks(g, args.get(2));
                if (withState && !(args.get(3) instanceof Map<?, ?>)) {
                    throw fail("the state argument of " + g.qualifiedName() + " is " + describe(args.get(3))
                            + "; expected a dict");
                }
                yield t.asParameter(bool(args.get(1), "requires_grad of " + g.qualifiedName()));
            }
            case TORCH_SIZE -> {
                arity(g, args, 0, 1);
                if (args.isEmpty()) {
                    yield Tuple.EMPTY;
                }
                long[] dims = longs(args.get(0), "the argument of torch.Size");
                Object[] boxed = new Object[dims.length];
                for (int i = 0; i < dims.length; i++) {
                    boxed[i] = dims[i];
                }
                yield new Tuple(boxed);
            }
            case TORCH_DEVICE -> device(g, args);
            case NAMESPACE -> {
                arity(g, args, 0, 0);
                yield new PthObject(g.qualifiedName(), new LinkedHashMap<>());
            }
            case STORAGE_TYPE, DTYPE -> throw fail(g.qualifiedName() + " cannot be called in a checkpoint");
        };
    }

    private Object newObject(Object cls, Object argsValue) throws PthException {
        if (!(cls instanceof Global g)) {
            throw fail("NEWOBJ of " + describe(cls) + ", which is not a class");
        }
        if (g.kind() != Global.Kind.ORDERED_DICT && g.kind() != Global.Kind.NAMESPACE) {
            throw fail("NEWOBJ of " + g.qualifiedName() + " is not supported");
        }
        return call(g, argsValue);
    }

    private void build(Object instance, Object state) throws PthException {
        if (instance instanceof PthObject o) {
            Object dictState = state;
            if (state instanceof Tuple t && t.size() == 2 && t.get(1) == null) {
                dictState = t.get(0);  // (dict, slotstate) with no slots
            }
            if (!(dictState instanceof Map<?, ?> attributes)) {
                throw fail("BUILD of " + o.className() + " with " + describe(state) + "; expected an attribute dict");
            }
            charge(ENTRY_BYTES * attributes.size());
            for (Map.Entry<?, ?> e : attributes.entrySet()) {
                if (!(e.getKey() instanceof String name)) {
                    throw fail("BUILD of " + o.className() + ": attribute name " + describe(e.getKey())
                            + " is not a string");
                }
                o.attributes().put(name, e.getValue());
            }
        } else if (orderedDicts.contains(instance)) {
            // An OrderedDict's instance attributes: a state dict's _metadata (module versions). Checked, then dropped.
            if (!(state instanceof Map<?, ?> attributes) || !attributes.keySet().stream().allMatch(String.class::isInstance)) {
                throw fail("BUILD of collections.OrderedDict with " + describe(state) + "; expected an attribute dict");
            }
        } else {
            throw fail("BUILD of " + describe(instance) + " is not supported");
        }
    }

    private Object persistentId(Object pid) throws PthException {
        if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw fail("persistent id " + describe(pid) + " is not a ('storage', type, key, location, numel) tuple");
        }
        if (!(t.get(1) instanceof Global g) || g.kind() != Global.Kind.STORAGE_TYPE) {
            throw fail("persistent id: storage type " + describe(t.get(1)) + " is not a storage class");
        }
        if (!(t.get(2) instanceof String key)) {
            throw fail("persistent id: storage key " + describe(t.get(2)) + " is not a string");
        }
        if (!(t.get(3) instanceof String)) {
            throw fail("persistent id: location " + describe(t.get(3)) + " is not a string");
        }
        if (!(t.get(4) instanceof Long numel) || numel < 0) {
            throw fail("persistent id: element count " + describe(t.get(4)) + " is not a non-negative integer");
        }
        return storages.storage(key, g.dtype(), numel, where());
    }

    /** Checks a view against its storage and makes the reference; {@code dtype} overrides the storage's (v3). */
    private PthTensorRef tensor(Global g, Tuple args, PthDtype dtypeOverride, boolean requiresGrad)
            throws PthException {
        String fn = g.qualifiedName();
        if (!(args.get(0) instanceof Storage storage)) {
            throw fail("the storage argument of " + fn + " is " + describe(args.get(0))
                    + "; expected a storage (a persistent id)");
        }
        if (args.size() > 5) {
            hooks(g, args.get(5));
        }
        PthDtype dtype = dtypeOverride != null ? dtypeOverride : storage.dtype();
        long offset = nonNegative(args.get(1), "storage_offset of " + fn);
        long[] size = longs(args.get(2), "size of " + fn);
        long[] stride = longs(args.get(3), "stride of " + fn);
        if (size.length != stride.length) {
            throw fail(fn + ": size " + Quote.list(size) + " and stride " + Quote.list(stride)
                    + " differ in length");
        }
        if (size.length > MAX_RANK) {
            throw fail(fn + ": rank " + size.length + " exceeds " + MAX_RANK);
        }
        for (int i = 0; i < size.length; i++) {
            if (size[i] < 0 || stride[i] < 0) {
                throw fail(fn + ": size " + Quote.list(size) + " stride " + Quote.list(stride)
                        + " has a negative value");
            }
        }
        Shape shape;
        try {
            shape = Shape.of(size);
            Math.multiplyExact(shape.elementCount(), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw fail(fn + ": size " + Quote.list(size) + " has more elements than fit in 2^63 bytes");
        }
        if (shape.elementCount() > 0) {
            long capacity = storage.byteSize() / dtype.byteSize();
            try {
                long last = offset;
                for (int i = 0; i < size.length; i++) {
                    last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
                }
                if (last >= capacity) {
                    throw fail(fn + ": the view size " + Quote.list(size) + " stride " + Quote.list(stride)
                            + " offset " + offset + " reaches " + dtype + " element " + last + " of storage "
                            + quote(storage.key()) + ", which holds " + capacity + " (out of bounds)");
                }
            } catch (ArithmeticException e) {
                throw fail(fn + ": the view size " + Quote.list(size) + " stride " + Quote.list(stride) + " offset "
                        + offset + " reaches beyond element 2^63 of storage " + quote(storage.key()));
            }
        }
        return new PthTensorRef(storage, dtype, shape, stride, offset, requiresGrad, false);
    }

    private byte[] latin1(Global g, Tuple args) throws PthException {
        arity(g, args, 2, 2);
        if (!(args.get(0) instanceof String text) || !(args.get(1) instanceof String encoding)
                || !(encoding.equals("latin1") || encoding.equals("latin-1"))) {
            throw fail("_codecs.encode is only accepted as (str, 'latin1'), the way pickle writes bytes; got "
                    + describe(args.get(0)) + " and " + describe(args.get(1)));
        }
        byte[] out = new byte[text.length()];
        for (int i = 0; i < out.length; i++) {
            char c = text.charAt(i);
            if (c > 0xff) {
                throw fail("_codecs.encode: character U+" + Integer.toHexString(c) + " is not latin1");
            }
            out[i] = (byte) c;
        }
        return out;
    }

    private String device(Global g, Tuple args) throws PthException {
        arity(g, args, 1, 2);
        if (!(args.get(0) instanceof String type)) {
            throw fail("torch.device type " + describe(args.get(0)) + " is not a string");
        }
        if (args.size() == 1 || args.get(1) == null) {
            return type;
        }
        return type + ":" + nonNegative(args.get(1), "torch.device index");
    }

    private void hooks(Global g, Object hooks) throws PthException {
        if (hooks != null && !(hooks instanceof Map<?, ?>)) {
            throw fail("the backward_hooks argument of " + g.qualifiedName() + " is " + describe(hooks)
                    + "; expected a dict");
        }
    }

    private void arity(Global g, Tuple args, int min, int max) throws PthException {
        if (args.size() < min || args.size() > max) {
            String expected = min == max ? String.valueOf(min) : min + " to " + max;
            throw fail(g.qualifiedName() + " called with " + args.size() + " arguments; expected " + expected);
        }
    }

    // ---------------------------------------------------------------- value checks

    private Tuple tuple(Object value, String what) throws PthException {
        if (value instanceof Tuple t) {
            return t;
        }
        throw fail(what + " is " + describe(value) + "; expected a tuple");
    }

    private List<?> sequence(Object value, String what) throws PthException {
        if (value instanceof List<?> l) {
            return l;
        }
        throw fail(what + " is " + describe(value) + "; expected a list or tuple");
    }

    private long[] longs(Object value, String what) throws PthException {
        List<?> items = sequence(value, what);
        if (items.size() > MAX_RANK) {
            throw fail(what + " has " + items.size() + " values; at most " + MAX_RANK + " dimensions are accepted");
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(items.get(i) instanceof Long l)) {
                throw fail(what + " holds " + describe(items.get(i)) + "; expected integers");
            }
            out[i] = l;
        }
        return out;
    }

    private long nonNegative(Object value, String what) throws PthException {
        if (value instanceof Long l && l >= 0) {
            return l;
        }
        throw fail(what + " is " + describe(value) + "; expected a non-negative integer");
    }

    private boolean bool(Object value, String what) throws PthException {
        if (value instanceof Boolean b) {
            return b;
        }
        throw fail(what + " is " + describe(value) + "; expected True or False");
    }

    /** Dict keys and set elements: scalars only, so hashing them is cheap and they never change. */
    private Object key(Object value, String what) throws PthException {
        if (value == null || value instanceof String || value instanceof Long || value instanceof BigInteger
                || value instanceof Double || value instanceof Boolean) {
            return value;
        }
        throw fail(what + " is " + describe(value) + "; only str, int, float, bool and None are supported");
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object target) throws PthException {
        if (target instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw fail("append to " + describe(target) + "; expected a list");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> map(Object target) throws PthException {
        if (target instanceof LinkedHashMap<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw fail("setitem on " + describe(target) + "; expected a dict");
    }

    // ---------------------------------------------------------------- stack and memo

    private void push(Object value) throws PthException {
        charge(SLOT_BYTES);
        stack.add(value);
    }

    private void memoPut(long index) throws PthException {
        charge(MEMO_BYTES);
        memo.put(index, top());
    }

    /** Charges a newly built value's estimated size to the budget, and returns it. */
    private Object fresh(Object value) throws PthException {
        charge(switch (value) {
            case null -> 0;
            case Long l -> 16;
            case Double d -> 16;
            case String s -> 48 + 2L * s.length();
            case byte[] b -> 24 + b.length;
            case BigInteger b -> 48 + b.bitLength() / 8;
            case Tuple t -> t.isEmpty() ? 0 : CONTAINER_BYTES + SLOT_BYTES * t.size();
            case List<?> l -> CONTAINER_BYTES + SLOT_BYTES * l.size();
            case Map<?, ?> m -> CONTAINER_BYTES + ENTRY_BYTES * m.size();
            case Set<?> s -> CONTAINER_BYTES + ENTRY_BYTES * s.size();
            case PthObject o -> CONTAINER_BYTES;
            case PthTensorRef t -> CONTAINER_BYTES + 2 * SLOT_BYTES * t.shape().rank();
            default -> 0;  // Boolean, Global and Storage instances are shared
        });
        return value;
    }

    private void charge(long bytes) throws PthException {
        charged += bytes;
        if (charged > MAX_VALUE_BYTES) {
            throw fail("the values built so far would take more than " + (MAX_VALUE_BYTES >> 20) + " MiB of memory"
                    + " (estimated); a checkpoint's object tree needs far less (refused to bound memory)");
        }
    }

    private int markBase() {
        return markCount == 0 ? 0 : marks[markCount - 1];
    }

    private Object pop() throws PthException {
        if (stack.size() <= markBase()) {
            throw fail("stack underflow (no value " + (markCount > 0 ? "above the last MARK" : "on the stack") + ")");
        }
        return stack.removeLast();
    }

    private Object top() throws PthException {
        if (stack.size() <= markBase()) {
            throw fail("stack underflow (no value " + (markCount > 0 ? "above the last MARK" : "on the stack") + ")");
        }
        return stack.getLast();
    }

    private void mark() {
        if (markCount == marks.length) {
            marks = Arrays.copyOf(marks, marks.length * 2);
        }
        marks[markCount++] = stack.size();
    }

    private List<Object> popMark() throws PthException {
        if (markCount == 0) {
            throw fail("no MARK to pop to");
        }
        int base = marks[--markCount];
        List<Object> above = stack.subList(base, stack.size());
        List<Object> items = new ArrayList<>(above);
        above.clear();
        return items;
    }

    private Object memoGet(long index) throws PthException {
        Object value = memo.get(index);
        if (value == null && !memo.containsKey(index)) {
            throw fail("memo entry " + index + " was never stored");
        }
        return value;
    }

    // ---------------------------------------------------------------- reading bytes

    private void need(long n) throws PthException {
        if (n > in.length - pos) {
            throw fail("needs " + n + " more bytes but the pickle ends after " + (in.length - pos) + " (truncated)");
        }
    }

    private int u8() throws PthException {
        need(1);
        return in[pos++] & 0xff;
    }

    private int u16() throws PthException {
        need(2);
        int v = (in[pos] & 0xff) | (in[pos + 1] & 0xff) << 8;
        pos += 2;
        return v;
    }

    private int i32() throws PthException {
        need(4);
        int v = (in[pos] & 0xff) | (in[pos + 1] & 0xff) << 8 | (in[pos + 2] & 0xff) << 16 | (in[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    private long u32() throws PthException {
        return i32() & 0xffffffffL;
    }

    /** A u64; values of 2^63 and more come back negative, which every caller treats as too large. */
    private long u64() throws PthException {
        need(8);
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (in[pos + i] & 0xff);
        }
        pos += 8;
        return v;
    }

    /** {@code n} bytes, checked against what is left before anything is allocated. */
    private byte[] bytes(long n, String what) throws PthException {
        if (n < 0 || n > in.length - pos) {
            throw fail(what + " length " + (n < 0 ? Long.toUnsignedString(n) + " (read as unsigned)" : n)
                    + " exceeds the " + (in.length - pos) + " bytes left in the pickle");
        }
        byte[] out = Arrays.copyOfRange(in, pos, pos + (int) n);
        pos += (int) n;
        return out;
    }

    private String utf8(long n, String what) throws PthException {
        if (n < 0 || n > in.length - pos) {
            throw fail(what + " length " + (n < 0 ? Long.toUnsignedString(n) + " (read as unsigned)" : n)
                    + " exceeds the " + (in.length - pos) + " bytes left in the pickle");
        }
        int start = pos;
        pos += (int) n;
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(in, start, (int) n))
                    .toString();
        } catch (CharacterCodingException e) {
            throw fail(what + " of " + n + " bytes is not valid UTF-8");
        }
    }

    /** A GLOBAL argument: bytes up to a newline. */
    private String line(String what) throws PthException {
        int limit = (int) Math.min(in.length, (long) pos + MAX_GLOBAL_NAME + 1);
        for (int i = pos; i < limit; i++) {
            if (in[i] == '\n') {
                return utf8Line(i, what);
            }
        }
        throw fail("GLOBAL " + what + " has no newline within " + MAX_GLOBAL_NAME + " bytes");
    }

    private String utf8Line(int newline, String what) throws PthException {
        String s = utf8(newline - pos, "GLOBAL " + what);
        pos++;  // the newline
        return s;
    }

    private Object longInteger(int n) throws PthException {
        byte[] b = bytes(n, "LONG integer");
        if (n == 0) {
            return 0L;
        }
        if (n <= 8) {
            long v = b[n - 1];  // sign-extended top byte
            for (int i = n - 2; i >= 0; i--) {
                v = v << 8 | (b[i] & 0xff);
            }
            return v;
        }
        byte[] bigEndian = new byte[n];
        for (int i = 0; i < n; i++) {
            bigEndian[i] = b[n - 1 - i];
        }
        BigInteger big = new BigInteger(bigEndian);
        return big.bitLength() < 64 ? (Object) big.longValueExact() : big;
    }

    // ---------------------------------------------------------------- messages

    /** {@code archive/data.pkl byte 58 (GLOBAL)}. */
    private String where() {
        return entryName + " byte " + opStart + (op >= 0 ? " (" + opName(op) + ")" : "");
    }

    private PthException fail(String problem) {
        return new PthException(file, where() + ": " + problem);
    }

    private static String globalName(String module, String name) {
        String s = module + "." + name;
        return s.matches("[A-Za-z0-9_.]{1,200}") ? s : quote(s);
    }

    private static String opName(int op) {
        return switch (op) {
            case 0x80 -> "PROTO";
            case 0x95 -> "FRAME";
            case '.' -> "STOP";
            case '(' -> "MARK";
            case '0' -> "POP";
            case '1' -> "POP_MARK";
            case '2' -> "DUP";
            case 'N' -> "NONE";
            case 0x88 -> "NEWTRUE";
            case 0x89 -> "NEWFALSE";
            case 'J' -> "BININT";
            case 'K' -> "BININT1";
            case 'M' -> "BININT2";
            case 0x8a -> "LONG1";
            case 0x8b -> "LONG4";
            case 'G' -> "BINFLOAT";
            case 'X' -> "BINUNICODE";
            case 0x8c -> "SHORT_BINUNICODE";
            case 0x8d -> "BINUNICODE8";
            case 'T' -> "BINSTRING";
            case 'U' -> "SHORT_BINSTRING";
            case 'B' -> "BINBYTES";
            case 'C' -> "SHORT_BINBYTES";
            case 0x8e -> "BINBYTES8";
            case '}' -> "EMPTY_DICT";
            case ']' -> "EMPTY_LIST";
            case ')' -> "EMPTY_TUPLE";
            case 0x8f -> "EMPTY_SET";
            case 'd' -> "DICT";
            case 'l' -> "LIST";
            case 't' -> "TUPLE";
            case 0x85 -> "TUPLE1";
            case 0x86 -> "TUPLE2";
            case 0x87 -> "TUPLE3";
            case 0x91 -> "FROZENSET";
            case 'a' -> "APPEND";
            case 'e' -> "APPENDS";
            case 0x90 -> "ADDITEMS";
            case 's' -> "SETITEM";
            case 'u' -> "SETITEMS";
            case 'q' -> "BINPUT";
            case 'r' -> "LONG_BINPUT";
            case 0x94 -> "MEMOIZE";
            case 'h' -> "BINGET";
            case 'j' -> "LONG_BINGET";
            case 'c' -> "GLOBAL";
            case 0x93 -> "STACK_GLOBAL";
            case 'R' -> "REDUCE";
            case 0x81 -> "NEWOBJ";
            case 0x92 -> "NEWOBJ_EX";
            case 'b' -> "BUILD";
            case 'Q' -> "BINPERSID";
            default -> "opcode 0x" + Integer.toHexString(op);
        };
    }
}
