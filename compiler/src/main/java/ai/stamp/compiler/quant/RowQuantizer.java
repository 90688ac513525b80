package ai.stamp.compiler.quant;

/**
 * Symmetric int8 quantization of a table T [V, E] with one scale per row, the numerics of embedding-table
 * quantization (as ONNX Runtime's quantizer does for a Gather of a constant table): each row r gets
 * {@code s_r = max|T[r, :]| / 127} (1 for an all-zero row) and {@code q[r, e] = clamp(rint(T[r, e] / s_r), -127, 127)}
 * (round half to even; -128 is never used, so the grid is symmetric). A row lookup then reads
 * {@code q[r, :] * s_r}, within half a step {@code s_r / 2} of every original value. Same rounding and scale rule as
 * {@link RtnQuantizer} (which puts the scales on columns).
 */
public final class RowQuantizer {
    /** The largest int8 magnitude used. */
    public static final int QMAX = 127;

    private RowQuantizer() {}

    /**
     * A quantized table.
     *
     * @param rows   V
     * @param cols   E
     * @param values row-major [V, E], in [-127, 127]
     * @param scales [V], one per row
     */
    public record Quantized(int rows, int cols, byte[] values, float[] scales) {
        public Quantized {
            if (values.length != (long) rows * cols || scales.length != rows) {
                throw new IllegalArgumentException("a [" + rows + ", " + cols + "] table needs " + (long) rows * cols + " values and "
                        + rows + " scales, got " + values.length + " and " + scales.length);
            }
        }

        /** The value a lookup of row {@code r} gives at column {@code e}: {@code q[r, e] * s_r} in float. */
        public float dequantized(int r, int e) { return values[r * cols + e] * scales[r]; }
    }

    /** Per-row int8 of the row-major table {@code t} [rows, cols]; fails on a non-finite value ({@link #allFinite} first). */
    public static Quantized quantize(float[] t, int rows, int cols) {
        RtnQuantizer.checkShape(t.length, rows, cols);
        byte[] values = new byte[t.length];
        float[] scales = new float[rows];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            float max = 0f;
            for (int e = 0; e < cols; e++) max = Math.max(max, Math.abs(t[base + e]));
            float s = RtnQuantizer.scaleFor(max, QMAX);
            scales[r] = s;
            for (int e = 0; e < cols; e++) values[base + e] = (byte) RtnQuantizer.quantizeValue(t[base + e], s, QMAX);
        }
        return new Quantized(rows, cols, values, scales);
    }

    /** Whether every value is finite (a NaN or infinity has no scale). */
    public static boolean allFinite(float[] t) {
        for (float v : t) if (!Float.isFinite(v)) return false;
        return true;
    }
}
