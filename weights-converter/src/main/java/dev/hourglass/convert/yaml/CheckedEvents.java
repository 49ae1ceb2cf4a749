package dev.hourglass.convert.yaml;

import java.util.function.Supplier;

import org.snakeyaml.engine.v2.events.DocumentEndEvent;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.parser.Parser;

/**
 * snakeyaml-engine's parser as the composer sees it, with the limits the library does not keep: nesting depth (its
 * composer recurses once per level, so an unbounded depth would overflow the stack) and a single document, saying
 * so for anything after a {@code ...} document end marker. It also remembers the line of the last event, for the
 * library's refusals that carry no position.
 */
final class CheckedEvents implements Parser {
    private final Parser parser;
    private int depth;
    private int documents;
    /** Whether a {@code ...} marker has ended the document: whatever the parser then finds is a second one. */
    private boolean ended;
    private int line = 1;

    CheckedEvents(Parser parser) {
        this.parser = parser;
    }

    @Override
    public boolean checkEvent(Event.ID choice) {
        return afterTheEnd(() -> parser.checkEvent(choice));
    }

    @Override
    public Event peekEvent() {
        return afterTheEnd(parser::peekEvent);
    }

    @Override
    public boolean hasNext() {
        return afterTheEnd(parser::hasNext);
    }

    @Override
    public Event next() {
        Event event = afterTheEnd(parser::next);
        line = event.getStartMark().map(m -> m.getLine() + 1).orElse(line);
        switch (event.getEventId()) {
            case SequenceStart, MappingStart -> {
                if (++depth > YamlReader.MAX_DEPTH) {
                    throw new Refusal(line, "collections nested deeper than " + YamlReader.MAX_DEPTH + " levels");
                }
            }
            case SequenceEnd, MappingEnd -> depth--;
            case DocumentStart -> {
                if (++documents > 1) {
                    throw new Refusal(line, "a second document ('---'): multiple documents are not supported");
                }
            }
            case DocumentEnd -> ended = event instanceof DocumentEndEvent end && end.isExplicit();
            default -> {
                // scalars, aliases, the stream's start and end: nothing to count
            }
        }
        return event;
    }

    /** Calls the parser; what it cannot parse after a {@code ...} marker is refused as a second document. */
    private <T> T afterTheEnd(Supplier<T> call) {
        try {
            return call.get();
        } catch (MarkedYamlEngineException e) {
            if (ended) {
                throw new Refusal(e.getProblemMark().map(m -> m.getLine() + 1).orElse(line),
                        "content after the document end marker '...': multiple documents are not supported");
            }
            throw e;
        }
    }

    /** The 1-based line of the last event handed to the composer. */
    int line() {
        return line;
    }
}
