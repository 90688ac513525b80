package ai.stamp.ops;

import java.util.function.IntFunction;

/**
 * A 1D block transform whose in-block coefficient k plays the role of frequency k (docs/method.md#sequence-transforms:
 * block DCT-II, Walsh–Hadamard in sequency order). Its standard order is frequency-major: every block's
 * k = 0 coefficient (the band, one per block, as many as Haar's approximation band), then k = 1 of every
 * block, and so on, i.e. block-layout token blk·B + k sits at position k·nb + blk. A subclass supplies
 * only its exact (double) B x B matrix and its names.
 */
abstract class FrequencyBlockTransform extends BlockTransform1d {
    /** The exact matrix, row k = frequency k; never handed out (callers get copies). */
    private final double[] basis;

    /** {@code basisOfSide} builds the exact B x B matrix for a block side B (called once, after validation). */
    FrequencyBlockTransform(int levels, int sinkTokens, IntFunction<double[]> basisOfSide) {
        super(levels, sinkTokens);
        int b = blockSide();
        this.basis = basisOfSide.apply(b);
        if (basis.length != b * b) throw new IllegalStateException(id() + " basis has " + basis.length + " entries, expected " + b * b);
    }

    /** The exact matrix in double (a copy): row k = frequency k. */
    public double[] exactBlockMatrix() { return basis.clone(); }

    @Override public float[] blockMatrix() { return BlockMatrices.toFloat(basis); }

    @Override public void forwardBlock(double[] in, double[] out) { BlockMatrices.multiply(basis, blockSide(), in, out); }

    /** Row-wise: out row c = Σ_k basis[c][k] · block row k, k ascending, the same sums as per column. */
    @Override
    public void forwardBlockColumns(double[] block, int columns, double[] out) {
        int b = blockSide();
        for (int c = 0; c < b; c++) {
            int oo = c * columns;
            java.util.Arrays.fill(out, oo, oo + columns, 0.0);
            for (int k = 0; k < b; k++) {
                double m = basis[c * b + k];
                int io = k * columns;
                for (int f = 0; f < columns; f++) out[oo + f] += m * block[io + f];
            }
        }
    }

    @Override
    public int[] standardPositions(int nbh, int nbw) {
        requireOneRow(nbh);
        int b = blockSide();
        int[] pos = new int[nbw * b];
        for (int blk = 0; blk < nbw; blk++) {
            for (int k = 0; k < b; k++) pos[blk * b + k] = k * nbw + blk;
        }
        return pos;
    }

    /** p = k·nb + blk: A[k] = k, G[k] = 1 (bw is the block index in 1D), E = F = R = 0. */
    @Override
    public long[][] closedFormTables() {
        int b = blockSide();
        long[][] t = new long[5][b];
        for (int k = 0; k < b; k++) {
            t[0][k] = k;
            t[3][k] = 1;
        }
        return t;
    }
}
