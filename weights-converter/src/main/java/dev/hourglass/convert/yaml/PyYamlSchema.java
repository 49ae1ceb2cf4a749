package dev.hourglass.convert.yaml;

import static dev.hourglass.convert.yaml.YamlReader.quote;

import java.util.Map;
import java.util.regex.Pattern;

import org.snakeyaml.engine.v2.api.ConstructNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.resolver.ScalarResolver;
import org.snakeyaml.engine.v2.schema.Schema;

/**
 * PyYAML's scalars: its implicit resolvers (YAML 1.1, {@code yaml/resolver.py}) for plain scalars, and constructors
 * for the values this reader builds from them. A quoted scalar is always a string. Forms PyYAML would build but this
 * reader does not (a {@code datetime}, an octal or sexagesimal number, an integer beyond 64 bits) are refused with a
 * message that says how to write the value instead.
 */
final class PyYamlSchema implements Schema {
    private static final Pattern BOOL = Pattern.compile(
            "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF");
    private static final Pattern TRUE = Pattern.compile("yes|Yes|YES|true|True|TRUE|on|On|ON");
    private static final Pattern NULL = Pattern.compile("~|null|Null|NULL|");
    private static final Pattern PY_INT = Pattern.compile("[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
            + "|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+");
    private static final Pattern PY_FLOAT = Pattern.compile("[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?"
            + "|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*"
            + "|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)");
    private static final Pattern TIMESTAMP = Pattern.compile("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
            + "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \\t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]"
            + "(?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?");
    // The forms of those this reader converts.
    private static final Pattern DECIMAL_INT = Pattern.compile("[-+]?(?:0|[1-9][0-9]*)");
    private static final Pattern DECIMAL_FLOAT = Pattern.compile(
            "[-+]?[0-9]+\\.[0-9]*(?:[eE][-+][0-9]+)?|\\.[0-9]+(?:[eE][-+][0-9]+)?");
    private static final Pattern INF = Pattern.compile("[-+]?\\.(?:inf|Inf|INF)");

    /** PyYAML's tags for what this reader refuses: YAML 1.1's value key {@code =} and timestamps. */
    static final Tag VALUE = new Tag(Tag.PREFIX + "value");
    static final Tag TIMESTAMP_TAG = new Tag(Tag.PREFIX + "timestamp");

    @Override
    public ScalarResolver getScalarResolver() {
        return PyYamlSchema::resolve;
    }

    @Override
    public Map<Tag, ConstructNode> getSchemaTagConstructors() {
        return Map.of(
                Tag.NULL, PyYamlSchema::nullValue,
                Tag.BOOL, node -> TRUE.matcher(text(node)).matches(),
                Tag.INT, PyYamlSchema::integer,
                Tag.FLOAT, PyYamlSchema::floating,
                Tag.STR, PyYamlSchema::text,
                Tag.MERGE, node -> {
                    throw Refusal.at(node, "merge keys ('<<') are not supported");
                },
                VALUE, node -> {
                    throw Refusal.at(node, "the YAML value key '=' is not supported");
                },
                TIMESTAMP_TAG, node -> {
                    throw Refusal.at(node, "timestamps (" + quote(text(node)) + ") are not supported; quote it to"
                            + " make it a string");
                });
    }

    /** The tag PyYAML gives a scalar: plain ones by their text, quoted ones always {@code !!str}. */
    static Tag resolve(String value, Boolean plain) {
        if (!Boolean.TRUE.equals(plain)) {
            return Tag.STR;
        }
        if (NULL.matcher(value).matches()) {
            return Tag.NULL;
        }
        if (BOOL.matcher(value).matches()) {
            return Tag.BOOL;
        }
        if (PY_FLOAT.matcher(value).matches()) {
            return Tag.FLOAT;
        }
        if (PY_INT.matcher(value).matches()) {
            return Tag.INT;
        }
        if (value.equals("<<")) {
            return Tag.MERGE;
        }
        if (value.equals("=")) {
            return VALUE;
        }
        if (TIMESTAMP.matcher(value).matches()) {
            return TIMESTAMP_TAG;
        }
        return Tag.STR;
    }

    private static String text(Node node) {
        if (node instanceof ScalarNode s) {
            return s.getValue();
        }
        throw Refusal.at(node, "the tag " + node.getTag() + " needs a scalar, not a " + node.getNodeType());
    }

    /** Null, also for the empty document (no node at all). */
    private static Object nullValue(Node node) {
        if (node != null && !node.isResolved()) {
            throw PyYamlConstructor.unsupportedTag(node);
        }
        return null;
    }

    private static Object integer(Node node) {
        String text = text(node);
        if (!DECIMAL_INT.matcher(text).matches()) {
            throw Refusal.at(node, "the integer " + quote(text) + " is in a form this reader does not support (binary,"
                    + " octal, hexadecimal, sexagesimal or with underscores); write it in decimal");
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw Refusal.at(node, "the integer " + quote(text) + " does not fit in 64 bits");
        }
    }

    private static Object floating(Node node) {
        String text = text(node);
        if (DECIMAL_FLOAT.matcher(text).matches()) {
            return Double.parseDouble(text);
        }
        if (INF.matcher(text).matches()) {
            return text.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        if (text.matches("\\.(?:nan|NaN|NAN)")) {
            return Double.NaN;
        }
        throw Refusal.at(node, "the float " + quote(text) + " is in a form this reader does not support (underscores or"
                + " sexagesimal); write it as a plain decimal");
    }
}
