package ai.stamp.ops;

/**
 * One orthogonal sequence transform L at a fixed geometry (docs/method.md (#the-rewrite, #sequence-transforms)): the single
 * description that the transform ops, their Java kernels, the bit allocation ({@link TokenPrecision})
 * and calibration energies all read, so they cannot disagree about which coefficient is which.
 *
 * <p>Every transform here is a <b>block transform</b>: after {@link #sinkTokens()} untouched tokens, the
 * rest is zero-padded and cut into blocks of {@link #blockTokens()} tokens (1D: B = 2^levels consecutive
 * tokens; 2D: a B x B tile of a row-major token grid of {@link #gridHeight()} rows), and each block is
 * replaced by {@link #blockMatrix()} · block. The ops write Z in this <i>block layout</i> (block after
 * block, in-block coefficient c at offset c); the transform's <i>standard order</i> (the order its
 * coefficients are ranked in for the --hi-tokens K rule) is a permutation of it given by
 * {@link #standardPositions} and, in closed form for the function bodies, {@link #closedFormTables}.
 * In-block coefficient 0 is always the approximation / DC coefficient: the "band" that gets the high
 * bit-width by default.
 *
 * <p>Implementations are immutable values (equal geometry and family = equal), obtained from
 * {@link SequenceTransforms#of}. Adding a transform = one class plus one registration line there.
 */
public interface SequenceTransform {

    /** Stable id used in CLI options, configs and reports: "haar", "haar2d", "dct", "wht". */
    String id();

    /** Levels L: blocks are B = 2^L tokens (1D) or B x B tokens (2D). */
    int levels();

    /** Leading tokens kept out of the transform and always given the high bit-width. */
    int sinkTokens();

    /** 2D only: rows of the token grid (static; columns = (S - sink) / gridHeight at run time); 0 in 1D. */
    default int gridHeight() { return 0; }

    default boolean is2d() { return gridHeight() > 0; }

    /** Block side in tokens along one axis: 2^levels. */
    default int blockSide() { return 1 << levels(); }

    /** Tokens per block: B (1D) or B² (2D). */
    default int blockTokens() {
        int b = blockSide();
        return is2d() ? b * b : b;
    }

    /**
     * The blockTokens x blockTokens orthogonal matrix (row-major, float as the ops embed it): row c gives
     * in-block coefficient c, in the transform's standard in-block order (c = 0: approximation / DC).
     * A fresh array on every call.
     */
    float[] blockMatrix();

    /** The inverse block matrix, i.e. the transpose (the matrix is orthogonal). A fresh array. */
    default float[] inverseBlockMatrix() { return BlockMatrices.transpose(blockMatrix(), blockTokens()); }

    /**
     * Transforms one block column in double precision (for calibration energies): {@code in} holds the
     * block's blockTokens token values (2D: the B x B tile row-major, zero where padded), {@code out}
     * (a different array of the same length) receives the coefficients in in-block order.
     */
    void forwardBlock(double[] in, double[] out);

    /**
     * {@link #forwardBlock} on every column of a row-major [blockTokens, columns] block at once (token
     * rows, e.g. one block of an activation with its D features), written to {@code out} of the same
     * shape; results are bit-identical to the per-column calls. Implementations override it with
     * row-wise loops when calibration speed matters.
     */
    default void forwardBlockColumns(double[] block, int columns, double[] out) {
        int n = blockTokens();
        double[] in = new double[n], coef = new double[n];
        for (int f = 0; f < columns; f++) {
            for (int k = 0; k < n; k++) in[k] = block[k * columns + f];
            forwardBlock(in, coef);
            for (int c = 0; c < n; c++) out[c * columns + f] = coef[c];
        }
    }

    /** Family name of the forward op, e.g. "HaarSequence"; the inverse op is this plus "Inverse". */
    String opName();

    /** The op computing Z = L·pad(X) in block layout: X [lead..., S, D] -> Z [M, T, D]. */
    StampOp forward();

    /** The op computing crop(Lᵀ·Y) with inputs (Y [M, T, N], X the forward input) -> [lead..., S, N]. */
    StampOp inverse();

    /**
     * For the block layout of {@code nbh x nbw} blocks (1D: nbh = 1) and every block-layout index
     * {@code (bh·nbw + bw)·blockTokens + c} (counted after the sink), its position in the transform's
     * global standard order.
     */
    int[] standardPositions(int nbh, int nbw);

    /**
     * Per in-block coefficient c, the constants {A, E, F, G, R} (each of length blockTokens) of the closed
     * form {@code p = A[c]·nb + E[c]·bh·nbw + F[c]·nbw + G[c]·bw + R[c]} of its standard position
     * (nb = nbh·nbw; 1D: bh = 0, bw = block index, and only A, G, R are read). It must agree with
     * {@link #standardPositions}: TokenPrecision's function body evaluates this, its kernel that.
     */
    long[][] closedFormTables();

    /**
     * The tag naming this transform inside other ops' function names, e.g. TokenPrecision_&lt;tag&gt;_l3_s1...
     * Defaults to {@link #id()}; the Haar transforms keep their historical tags ("haar1d", "haar2d").
     */
    default String functionTag() { return id(); }

    /**
     * The label naming this transform in other ops' doc strings ("layout=..."). Defaults to the upper-case
     * id; the Haar transforms keep their historical labels ("HAAR_1D", "HAAR_2D").
     */
    default String docLabel() { return id().toUpperCase(java.util.Locale.ROOT); }

    /** A short human-readable name for reports and plots, e.g. "block DCT-II". Defaults to {@link #id()}. */
    default String displayName() { return id(); }

    /**
     * The name of the band that in-block coefficient {@code c} belongs to, as reports and plots label the
     * standard order: the coefficients of one band take consecutive standard positions, and coefficient 0
     * (the band kept at the high bit-width by default) is a band of its own. Defaults to "k" + c (frequency c).
     */
    default String bandOf(int c) {
        if (c < 0 || c >= blockTokens()) throw new IllegalArgumentException("coefficient " + c + " not in 0.." + (blockTokens() - 1));
        return "k" + c;
    }

    /** This transform as the layout the ops and TokenPrecision read. */
    default SequenceLayout layout() { return SequenceLayout.of(this); }
}
