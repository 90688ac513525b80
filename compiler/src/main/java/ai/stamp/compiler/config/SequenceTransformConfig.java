package ai.stamp.compiler.config;

import ai.stamp.compiler.StampConfig;
import java.util.Optional;

/**
 * The sequence transform L and where its inverse runs.
 *
 * @param transform  the transform id: a {@link ai.stamp.ops.SequenceTransforms} id, or {@link StampConfig#IDENTITY_TRANSFORM}
 * @param levels     levels L: blocks of 2^L tokens (2^L × 2^L on a grid)
 * @param sinkTokens leading tokens kept out of the transform (and at the high bit-width)
 * @param grid       2D only: the token grid, when given (else inferred from the graph)
 * @param inverseAt  where L^T runs
 */
public record SequenceTransformConfig(String transform, int levels, int sinkTokens, Optional<StampConfig.Grid> grid,
                                      StampConfig.InversePlacement inverseAt) {
    /**
     * A null {@code grid} is none.
     *
     * @param transform  the transform id
     * @param levels     the levels
     * @param sinkTokens the sink tokens
     * @param grid       the token grid, or empty
     * @param inverseAt  where L^T runs
     */
    public SequenceTransformConfig {
        grid = grid == null ? Optional.empty() : grid;
    }

    /** {@return whether no transform is inserted (every layer gets the matched baseline)} */
    public boolean identity() { return transform.equals(StampConfig.IDENTITY_TRANSFORM); }

    /** {@return whether the transform works on a 2D token grid} */
    public boolean onGrid() { return !identity() && ai.stamp.ops.SequenceTransforms.isGrid(transform); }
}
