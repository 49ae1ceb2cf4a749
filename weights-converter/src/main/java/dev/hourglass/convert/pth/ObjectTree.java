package dev.hourglass.convert.pth;

import static dev.hourglass.convert.pth.Quote.describe;

import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The last step of unpickling: turns the mutable containers the {@link Unpickler} built into unmodifiable ones, and
 * refuses what a checkpoint's object tree must not contain. A pickle can make a container hold itself (a cycle, which
 * would send {@code hashCode}, {@code toString} and any recursive walk into a stack overflow) or nest containers very
 * deeply; both are refused here. Containers shared by several parents (a DAG) stay shared, each frozen once.
 */
final class ObjectTree {
    /** Deepest nesting of containers accepted; real checkpoints nest about 5 deep. */
    static final int MAX_DEPTH = 100;

    private final Path file;
    private final String entryName;
    private final Map<Object, Object> frozen = new IdentityHashMap<>();
    private final Set<Object> open = Collections.newSetFromMap(new IdentityHashMap<>());

    private ObjectTree(Path file, String entryName) {
        this.file = file;
        this.entryName = entryName;
    }

    /**
     * The frozen tree: {@code Map<Object, Object>} (insertion-ordered), {@code List<Object>} (lists and tuples),
     * {@code Set<Object>}, {@link PthObject}, {@link PthTensorRef}, {@code String}, {@code Long}, {@code BigInteger},
     * {@code Double}, {@code Boolean}, {@code byte[]} and null. A dtype constant left as a value becomes the string
     * {@code "torch.float16"} (and so on).
     */
    static Object freeze(Path file, String entryName, Object root) throws PthException {
        return new ObjectTree(file, entryName).freeze(root, 0);
    }

    private Object freeze(Object value, int depth) throws PthException {
        if (value == null || value instanceof String || value instanceof Long || value instanceof Double
                || value instanceof Boolean || value instanceof BigInteger || value instanceof byte[]
                || value instanceof PthTensorRef) {
            return value;
        }
        if (value instanceof Global g) {
            if (g.kind() == Global.Kind.DTYPE) {
                return g.qualifiedName();
            }
            throw fail("the global " + g.qualifiedName() + " appears as a value, not called; a checkpoint does not"
                    + " hold classes or functions");
        }
        if (value instanceof Storage s) {
            throw fail("storage " + Quote.quote(s.key()) + " appears outside a tensor; bare storages are not"
                    + " supported");
        }
        Object done = frozen.get(value);
        if (done != null) {
            return done;
        }
        if (depth >= MAX_DEPTH) {
            throw fail("containers nested more than " + MAX_DEPTH + " deep");
        }
        if (!open.add(value)) {
            throw fail("the object graph has a cycle: " + describe(value) + " contains itself");
        }
        Object result = switch (value) {
            case Tuple t -> {
                for (int i = 0; i < t.size(); i++) {
                    t.replace(i, freeze(t.get(i), depth + 1));
                }
                yield t;
            }
            case ArrayList<?> raw -> {
                @SuppressWarnings("unchecked")
                ArrayList<Object> list = (ArrayList<Object>) raw;
                for (int i = 0; i < list.size(); i++) {
                    list.set(i, freeze(list.get(i), depth + 1));
                }
                yield Collections.unmodifiableList(list);
            }
            case LinkedHashMap<?, ?> raw -> {
                @SuppressWarnings("unchecked")
                LinkedHashMap<Object, Object> map = (LinkedHashMap<Object, Object>) raw;
                for (Map.Entry<Object, Object> e : map.entrySet()) {
                    e.setValue(freeze(e.getValue(), depth + 1));
                }
                yield Collections.unmodifiableMap(map);
            }
            case Set<?> set -> Collections.unmodifiableSet(set);  // elements are scalars (checked when added)
            case PthObject o -> {
                Map<String, Object> attributes = new LinkedHashMap<>();
                for (Map.Entry<String, Object> e : o.attributes().entrySet()) {
                    attributes.put(e.getKey(), freeze(e.getValue(), depth + 1));
                }
                yield new PthObject(o.className(), Collections.unmodifiableMap(attributes));
            }
            default -> throw fail("unexpected value " + describe(value));
        };
        open.remove(value);
        frozen.put(value, result);
        return result;
    }

    private PthException fail(String problem) {
        return new PthException(file, entryName + ": " + problem);
    }
}
