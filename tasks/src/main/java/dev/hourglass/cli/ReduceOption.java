package dev.hourglass.cli;

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
                    + " (ToMe: merge R tokens per block) or expedit:alpha=A,grid=HxW[,iters=,window=,tau=,k=,tau_r=]"
                    + " (Expedit: cluster the tokens after block A into an HxW grid)."})
    String spec;

    /** The method, or null when none was asked for; an unreadable spec is a picocli usage error. */
    ReductionMethod method(CommandLine cmd) {
        if (spec == null) {
            return null;
        }
        try {
            return Reductions.parse(spec);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cmd, "--reduce: " + e.getMessage());
        }
    }
}
