package ai.stamp.ops;

/**
 * Function-body fragments shared by the sequence-transform ops: flatten the leading dims into one
 * (canonical rank 3), split off the sink tokens, and restore the caller's leading dims on the way back.
 * Opset differences are not handled here but in {@link OnnxDialect}.
 */
final class SequenceBodies {
    private SequenceBodies() {}

    /** X [lead..., S, D] reshaped to x3 [M, S, D]; {@code dDim} is the 1-element int64 tensor [D]. */
    record Flat(String x3, String dDim, String shape) {}

    static Flat flatten(OnnxDialect d, String x) {
        String shp = d.shape(x);
        String sd = d.slice(shp, 0, -2, OnnxDialect.END);
        String dDim = d.slice(shp, 0, -1, OnnxDialect.END);
        // [-1, S, D]: -1 absorbs every leading dim, and gives M = 1 for a rank-2 input
        String x3 = d.reshape(x, d.concat(0, d.ints(-1), sd));
        return new Flat(x3, dDim, shp);
    }

    /** The first {@code sink} tokens (null when sink == 0) and the rest, along axis 1 of a rank-3 tensor. */
    record Split(String sink, String rest) {}

    static Split split(OnnxDialect d, String x3, int sink) {
        if (sink == 0) return new Split(null, x3);
        // Slice clamps both bounds, so S < sink gives an empty rest and an S-token sink, as specified
        return new Split(d.slice(x3, 1, 0, sink), d.slice(x3, 1, sink, OnnxDialect.END));
    }

    /**
     * [min(sink, S)] as a 1-element int64 tensor, from the 1-element [S]: the length of the constant
     * [0, sink) sliced to [0, S). Only Slice and Shape, because int64 Min needs opset 12.
     */
    static String sinkCount(OnnxDialect d, int sink, String sDim) {
        long[] iota = new long[sink];
        for (int i = 0; i < sink; i++) iota[i] = i;
        return d.shape(d.sliceTo(d.ints(iota), 0, 0, sDim));
    }

    static String join(OnnxDialect d, String sink, String rest) {
        return sink == null ? rest : d.concat(1, sink, rest);
    }

    /** Shape pieces of the original forward input X [lead..., S, D]: lead dims and [S]. */
    record Original(String lead, String sDim) {}

    static Original original(OnnxDialect d, String x) {
        String shp = d.shape(x);
        return new Original(d.slice(shp, 0, 0, -2), d.slice(shp, 0, -2, -1));
    }

    /**
     * {@code matrix · blocks} for blocks [M, nb, n, D] and a constant n x n matrix, broadcast over (M, nb).
     * The matrix is stored as [1, 1, n, n] and its second axis is sliced to [0, nb) — i.e. kept when
     * nb >= 1 (Slice clamps) and emptied when nb == 0. Why: ORT 1.24's MatMul shape helper broadcasts a
     * size-1 batch dim against a size-0 one as max(1, 0) = 1 and then fails ("right operand cannot
     * broadcast"), which happens whenever every token is a sink (e.g. S = 1, sink = 1). The Slice runs on
     * n² floats, so it costs nothing next to the MatMul.
     */
    static String blockMatMul(OnnxDialect d, float[] matrix, int n, String blocks) {
        return blockMatMul(d, matrix, n, blocks, true);
    }

    /**
     * As {@link #blockMatMul(OnnxDialect, float[], int, String)}; {@code mayBeEmpty = false} when the
     * caller knows nb >= 1 for every S >= 1 (no sink tokens), which drops the Shape/Slice/Slice guard.
     */
    static String blockMatMul(OnnxDialect d, float[] matrix, int n, String blocks, boolean mayBeEmpty) {
        if (!mayBeEmpty) return d.matmul(d.floats(matrix, 1, 1, n, n), blocks);
        String nb = d.slice(d.shape(blocks), 0, 1, 2);
        String m = d.op("Slice", d.floats(matrix, 1, 1, n, n), d.ints(0), nb, d.ints(1));
        return d.matmul(m, blocks);
    }

    /** [N] of Y [M, T, N]. */
    static String lastDim(OnnxDialect d, String y) {
        return d.slice(d.shape(y), 0, -1, OnnxDialect.END);
    }

    /** out3 [M, S, N] back to lead + [S, N]. */
    static String unflatten(OnnxDialect d, String out3, Original orig, String nDim) {
        return d.reshape(out3, d.concat(0, orig.lead(), d.ints(-1), nDim));
    }
}
