package dev.hourglass.tasks;

/**
 * What makes a task model's {@code close()} safe while other threads call it: each call {@link #enter enters} the gate
 * and {@link #exit exits} it; {@link #close} shuts the gate to new calls, waits until the calls already inside have
 * returned, and only then lets the owner free its weights and stop its compute threads. So a call either runs to
 * its end on live weights or fails at its start with an {@link IllegalStateException} naming the model; it never
 * reads weights a backend is releasing (a device's memory, or a CPU store's) nor hands work to a compute pool that
 * has stopped.
 *
 * <p>Internal to the task classes ({@code ImageClassifier}, {@code SemanticSegmenter}); public only because they live
 * in different packages. Thread-safe. Calls must not nest (a call that enters twice would fail at its second entry
 * once closing has begun), and the owner must not be closed from inside one of its own calls (the close would wait
 * for itself).
 */
public final class CallGate {
    private final String model;
    private int inside;
    private boolean closed;

    /** @param model how the failure of a call after close names the model, e.g. {@code "ImageClassifier shapes-vit"} */
    public CallGate(String model) {
        this.model = model;
    }

    /**
     * Lets one call in; pair it with {@link #exit()} in a {@code finally}.
     *
     * @throws IllegalStateException if the model is closed or closing
     */
    public synchronized void enter() {
        if (closed) {
            throw new IllegalStateException(model + " is closed");
        }
        inside++;
    }

    /** The end of a call that {@link #enter()} let in. */
    public synchronized void exit() {
        if (inside <= 0) {
            throw new IllegalStateException("exit without enter");
        }
        if (--inside == 0 && closed) {
            notifyAll();
        }
    }

    /**
     * Refuses new calls and waits, uninterruptibly (an interrupt is kept for the caller), until none is inside.
     *
     * @return true the first time (the caller then frees the model), false if the gate was already closed
     */
    public synchronized boolean close() {
        if (closed) {
            return false;
        }
        closed = true;
        boolean interrupted = false;
        while (inside > 0) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    /** Whether {@link #close()} has begun. */
    public synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return "CallGate[" + model + (closed ? ", closed]" : ", " + inside + " inside]");
    }
}
