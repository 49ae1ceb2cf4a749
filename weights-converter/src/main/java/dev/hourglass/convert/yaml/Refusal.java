package dev.hourglass.convert.yaml;

import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;

/**
 * Something this reader refuses, found while snakeyaml-engine parses, composes or constructs: it travels through the
 * library as one of its own exceptions (which the library passes on untouched) and leaves {@link YamlReader} as a
 * {@link YamlException} with the same line and problem.
 */
final class Refusal extends YamlEngineException {
    private final int line;
    private final String problem;

    Refusal(int line, String problem) {
        super(problem);
        this.line = line;
        this.problem = problem;
    }

    /** A refusal on the line where {@code node} starts. */
    static Refusal at(Node node, String problem) {
        return new Refusal(node.getStartMark().map(m -> m.getLine() + 1).orElse(0), problem);
    }

    /** 1-based. */
    int line() {
        return line;
    }

    String problem() {
        return problem;
    }
}
