package dev.hourglass.convert.pth;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A Python tuple: an unmodifiable list. Kept apart from {@link java.util.ArrayList} (a Python list) while unpickling,
 * because APPEND must not reach a tuple and a persistent id must be one; callers of {@link PthFile#root()} see both as
 * {@link java.util.List}.
 */
final class Tuple extends AbstractList<Object> implements RandomAccess {
    static final Tuple EMPTY = new Tuple(new Object[0]);

    private final Object[] items;

    Tuple(Object[] items) {
        this.items = items;
    }

    @Override
    public Object get(int index) {
        return items[index];
    }

    @Override
    public int size() {
        return items.length;
    }

    /** Used once, by the pass that freezes the object tree, to put frozen children in place. */
    void replace(int index, Object value) {
        items[index] = value;
    }
}
