package ai.stamp.compiler.quant;

/**
 * Symmetric round-to-nearest (RTN) weight quantization, the baseline weight method of docs/method.md#weights.
 *
 * <p>Why: STaMP only transforms activations along the sequence axis, so any weight method composes with it;
 * RTN is the simplest and the reference grid GPTQ ({@link Gptq}) refines. W is [D, N] row-major
 * (D = input features, N = output channels). Scales are per output channel (column), or per block of
 * {@code block} consecutive rows within each column — smaller blocks isolate outlier input features so they
 * do not inflate the step of the whole column. Symmetric with zero point 0: q = clamp(rint(w / s), -qmax, qmax),
 * s = max|w| / qmax, qmax = 2^(bits-1) - 1 (7 for int4, 127 for int8; -2^(bits-1) is never used, which keeps
 * the grid symmetric). Rounding is half-to-even ({@link Math#rint}). All-zero columns/blocks get scale 1 and
 * values 0 so dequantization never divides by zero.
 */
public final class RtnQuantizer {

    private RtnQuantizer() {}

    /** Per-output-channel RTN of W [rows, cols]. */
    public static QuantizedWeight quantize(float[] w, int rows, int cols, int bits) {
        return quantize(w, rows, cols, bits, 0);
    }

    /**
     * RTN of W [rows, cols] with one scale per output channel ({@code block == 0}) or per {@code block} rows of
     * each column (the last block may be shorter).
     */
    public static QuantizedWeight quantize(float[] w, int rows, int cols, int bits, int block) {
        checkShape(w.length, rows, cols);
        int qmax = QuantizedWeight.qmax(bits);
        if (block < 0) throw new IllegalArgumentException("block must be >= 0, got " + block);
        int span = block == 0 ? rows : block;
        int sr = QuantizedWeight.scaleRows(rows, block);
        float[] scales = new float[sr * cols];
        byte[] values = new byte[rows * cols];
        for (int r = 0; r < sr; r++) {
            int d0 = r * span, d1 = Math.min(rows, d0 + span);
            float[] s = scales(w, cols, d0, d1, qmax);
            System.arraycopy(s, 0, scales, r * cols, cols);
            for (int d = d0; d < d1; d++)
                for (int n = 0; n < cols; n++) values[d * cols + n] = (byte) quantizeValue(w[d * cols + n], s[n], qmax);
        }
        return new QuantizedWeight(rows, cols, bits, block, values, scales);
    }

    /**
     * Per-column scales max|w| / qmax over rows [d0, d1) of W (row-major, {@code cols} columns); 1 for all-zero
     * columns.
     */
    public static float[] scales(float[] w, int cols, int d0, int d1, int qmax) {
        float[] s = new float[cols];
        for (int d = d0; d < d1; d++)
            for (int n = 0; n < cols; n++) s[n] = Math.max(s[n], Math.abs(w[d * cols + n]));
        for (int n = 0; n < cols; n++) s[n] = scaleFor(s[n], qmax);
        return s;
    }

    /** Same as {@link #scales(float[], int, int, int, int)} for a double working matrix (used by GPTQ). */
    static float[] scales(double[] w, int cols, int d0, int d1, int qmax) {
        double[] m = new double[cols];
        for (int d = d0; d < d1; d++)
            for (int n = 0; n < cols; n++) m[n] = Math.max(m[n], Math.abs(w[d * cols + n]));
        float[] s = new float[cols];
        for (int n = 0; n < cols; n++) s[n] = scaleFor((float) m[n], qmax);
        return s;
    }

    /** max|w| / qmax, 1 for 0 (the scale of an all-zero column or block); fails on a non-finite max. */
    public static float scaleFor(float maxAbs, int qmax) {
        if (!(maxAbs > 0f) || Float.isInfinite(maxAbs)) {
            if (maxAbs == 0f) return 1f;
            throw new IllegalArgumentException("weight contains a non-finite value: " + maxAbs);
        }
        float s = maxAbs / qmax;
        return s > 0f ? s : Float.MIN_NORMAL; // subnormal max|w| would underflow
    }

    /** clamp(rint(w / scale), -qmax, qmax). */
    public static int quantizeValue(double w, float scale, int qmax) {
        double q = Math.rint(w / scale);
        return (int) Math.max(-qmax, Math.min(qmax, q));
    }

    static void checkShape(int length, int rows, int cols) {
        if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("shape must be positive: [" + rows + ", " + cols + "]");
        if ((long) rows * cols != length)
            throw new IllegalArgumentException("weight has " + length + " elements, expected " + rows + " x " + cols);
    }
}
