package dev.hourglass.convert.yaml;

import static dev.hourglass.convert.yaml.YamlReader.describe;
import static dev.hourglass.convert.yaml.YamlReader.quote;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.snakeyaml.engine.v2.api.ConstructNode;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.constructor.BaseConstructor;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Builds plain Java values from composed YAML, and nothing else: the scalars of {@link PyYamlSchema}, unmodifiable
 * lists and maps with string keys, and Segmenter's {@code !!python/tuple} as a list. A node carrying any other explicit
 * tag is refused before anything is built from it, so no document can name a class to instantiate.
 */
final class PyYamlConstructor extends BaseConstructor {
    /** What {@code yaml.dump} writes for a Python tuple (Segmenter's {@code image_size}). */
    static final Tag PYTHON_TUPLE = new Tag(Tag.PREFIX + "python/tuple");

    PyYamlConstructor(LoadSettings settings) {
        super(settings);
        tagConstructors.putAll(settings.getSchema().getSchemaTagConstructors());
        tagConstructors.put(Tag.SEQ, this::sequence);
        tagConstructors.put(Tag.MAP, this::mapping);
        tagConstructors.put(PYTHON_TUPLE, this::tuple);
    }

    @Override
    protected Optional<ConstructNode> findConstructorFor(Node node) {
        if (!node.isResolved() && !node.getTag().equals(PYTHON_TUPLE)) {
            throw unsupportedTag(node);
        }
        return super.findConstructorFor(node);
    }

    static Refusal unsupportedTag(Node node) {
        String tag = node.getTag().getValue();
        String shown = tag.startsWith(Tag.PREFIX) ? "!!" + tag.substring(Tag.PREFIX.length()) : tag;
        return Refusal.at(node, "the tag " + quote(shown) + " is not supported (only !!python/tuple)");
    }

    private Object sequence(Node node) {
        if (!(node instanceof SequenceNode seq)) {
            throw unsupportedTag(node);
        }
        refuseRecursive(node);
        List<Object> list = new ArrayList<>(seq.getValue().size());
        for (Node child : seq.getValue()) {
            list.add(constructObject(child));
        }
        return Collections.unmodifiableList(list);
    }

    private Object tuple(Node node) {
        if (!(node instanceof SequenceNode)) {
            throw Refusal.at(node, "!!python/tuple must tag a sequence, not " + (node instanceof ScalarNode s
                    ? "the scalar " + quote(s.getValue()) : "a mapping"));
        }
        return sequence(node);
    }

    private Object mapping(Node node) {
        if (!(node instanceof MappingNode m)) {
            throw unsupportedTag(node);
        }
        refuseRecursive(node);
        Map<String, Object> map = new LinkedHashMap<>();
        for (NodeTuple entry : m.getValue()) {
            Node keyNode = entry.getKeyNode();
            Object key = constructObject(keyNode);
            String text = keyNode instanceof ScalarNode s ? s.getValue() : String.valueOf(key);
            if (!(key instanceof String k)) {
                throw Refusal.at(keyNode, "the key " + quote(text) + " is " + describe(key)
                        + "; only string keys are supported");
            }
            if (!settings.getAllowDuplicateKeys() && map.containsKey(k)) {
                throw Refusal.at(keyNode, "duplicate key " + quote(k));
            }
            map.put(k, constructObject(entry.getValueNode()));
        }
        return Collections.unmodifiableMap(map);
    }

    /** A collection that holds an alias of itself would be an endless value (and overflow every walk of it). */
    private static void refuseRecursive(Node node) {
        if (node.isRecursive()) {
            throw Refusal.at(node, "the collection anchored " + node.getAnchor().map(a -> "&" + a.getValue())
                    .orElse("here") + " contains an alias of itself; recursive structures are not supported");
        }
    }
}
