package ai.stamp.ops;

import java.util.Objects;

/**
 * Base of the 1D block transforms: blocks of B = 2^levels consecutive tokens after the sink, all
 * computed by the same ops ({@link BlockSequence} / {@link BlockSequenceInverse}, a Reshape and one
 * MatMul by the constant {@link #blockMatrix()}), so a new 1D transform only supplies its matrix, its
 * standard order and its names. Values: equal class and geometry means equal.
 */
abstract class BlockTransform1d implements SequenceTransform {
    private final int levels;
    private final int sinkTokens;

    BlockTransform1d(int levels, int sinkTokens) {
        SequenceTransforms.requireGeometry(levels, sinkTokens);
        this.levels = levels;
        this.sinkTokens = sinkTokens;
    }

    @Override public final int levels() { return levels; }
    @Override public final int sinkTokens() { return sinkTokens; }
    @Override public final int gridHeight() { return 0; }

    @Override public StampOp forward() { return new BlockSequence(this); }
    @Override public StampOp inverse() { return new BlockSequenceInverse(this); }

    /** 1D layouts are a single row of blocks. */
    static void requireOneRow(int nbh) {
        if (nbh != 1) throw new IllegalArgumentException("a 1D transform has one row of blocks, got " + nbh);
    }

    @Override
    public final boolean equals(Object o) {
        return o != null && o.getClass() == getClass()
                && ((BlockTransform1d) o).levels == levels && ((BlockTransform1d) o).sinkTokens == sinkTokens;
    }

    @Override public final int hashCode() { return Objects.hash(getClass().getName(), levels, sinkTokens); }

    @Override public String toString() { return getClass().getSimpleName() + "[levels=" + levels + ", sinkTokens=" + sinkTokens + "]"; }
}
