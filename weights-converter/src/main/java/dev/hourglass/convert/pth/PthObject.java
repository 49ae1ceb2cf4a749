package dev.hourglass.convert.pth;

import java.util.Map;
import java.util.Objects;

/**
 * A plain Python object of an allow-listed class (only {@code argparse.Namespace}), kept as an opaque map of its
 * attributes: nothing of the class is run or imitated, the attribute dict the pickle gives is all there is.
 *
 * @param className  the qualified class name, e.g. {@code argparse.Namespace}
 * @param attributes its attributes in pickle order (unmodifiable; values are {@link PthFile#root()} values)
 */
public record PthObject(String className, Map<String, Object> attributes) {
    public PthObject {
        Objects.requireNonNull(className, "className");
        Objects.requireNonNull(attributes, "attributes");
    }

    @Override
    public String toString() {
        return className + attributes.keySet();
    }
}
