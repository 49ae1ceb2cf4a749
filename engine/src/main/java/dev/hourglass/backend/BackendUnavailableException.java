package dev.hourglass.backend;

/**
 * The backend a user named cannot run here: no provider has that name, or its runtime is missing. The message names
 * the backend and what to do. It is an {@link IllegalArgumentException} because the choice came from the caller (a
 * {@code --backend} option), so command lines report it like any other bad argument: one line, no stack trace.
 */
public final class BackendUnavailableException extends IllegalArgumentException {

    public BackendUnavailableException(String message) {
        super(message);
    }
}
