package ai.stamp.ops;

/** Picks the forward / inverse sequence-transform op for a {@link SequenceLayout}: the compiler's entry point. */
public final class SequenceTransforms {
    private SequenceTransforms() {}

    /** The op computing Z = L·pad(X) in block layout: X [lead..., S, D] -> Z [M, T, D]. */
    public static StampOp forward(SequenceLayout layout) {
        return switch (layout.transform()) {
            case HAAR_1D -> new HaarSequence(layout.levels(), layout.sinkTokens());
            case HAAR_2D -> new Haar2dSequence(layout.levels(), layout.sinkTokens(), layout.gridHeight());
            case IDENTITY -> throw new IllegalArgumentException("the identity layout has no transform op");
        };
    }

    /** The op computing crop(Lᵀ·Y) with inputs (Y [M, T, N], X the forward input) -> [lead..., S, N]. */
    public static StampOp inverse(SequenceLayout layout) {
        return switch (layout.transform()) {
            case HAAR_1D -> new HaarSequenceInverse(layout.levels(), layout.sinkTokens());
            case HAAR_2D -> new Haar2dSequenceInverse(layout.levels(), layout.sinkTokens(), layout.gridHeight());
            case IDENTITY -> throw new IllegalArgumentException("the identity layout has no transform op");
        };
    }
}
