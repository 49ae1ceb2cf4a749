package dev.hourglass.cli;

import java.io.IOException;
import java.io.UncheckedIOException;

import dev.hourglass.reduce.ReductionMethod;
import dev.hourglass.reduce.Reductions;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --reduce SPEC}, for every command that runs a ViT (picocli mixin): one token-reduction method with its
 * settings, read by {@link Reductions#parse}. A spec that cannot be read is a usage error (exit 2) listing what is
 * valid; settings that cannot apply to the model are refused when it is known (exit 2 as well).
 */
final class ReduceOption {

    @Option(names = "--reduce", paramLabel = "SPEC",
            description = {"Token reduction, no fine-tuning: tome:r=R[,inflect=-1|0|1][,prop_attn=true|false]"
                    + " (ToMe: merge R tokens per block), expedit:alpha=A,grid=HxW[,iters=,window=,tau=,k=,tau_r=]"
                    + " (Expedit: cluster the tokens after block A into an HxW grid), slim:masks=FILE (Patch"
                    + " Slimming: keep the tokens a mask file lists per block) or, for CF-ViT checkpoints,"
                    + " cfvit:threshold=T (stop at the coarse stage when the top probability reaches T; default 0.5)."})
    String spec;

    /**
     * The method, or null when none was asked for; an unreadable spec is a picocli usage error (exit 2).
     *
     * @throws IOException if a file the spec names (a mask file) cannot be read or is malformed: bad data (exit 1)
     */
    ReductionMethod method(CommandLine cmd) throws IOException {
        if (spec == null) {
            return null;
        }
        try {
            return Reductions.parse(spec);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cmd, "--reduce: " + e.getMessage());
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
