package dev.hourglass.convert;

import java.io.IOException;

/**
 * A setting the checkpoint does not carry, cannot be read from its weights, and would be wrong too often if guessed:
 * the user must give it (the command-line option is {@link #option()}). The message names the file and says what to
 * give.
 */
public final class MissingSettingException extends IOException {
    private final String option;

    public MissingSettingException(String message, String option) {
        super(message);
        this.option = option;
    }

    /** The command-line option that supplies the setting, e.g. {@code "--heads"}. */
    public String option() {
        return option;
    }
}
