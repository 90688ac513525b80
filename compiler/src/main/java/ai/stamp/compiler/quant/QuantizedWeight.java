package ai.stamp.compiler.quant;

/**
 * A symmetrically quantized weight W [D, N] (row-major, D = input features, N = output channels), as produced
 * by {@link RtnQuantizer} and {@link Gptq}.
 *
 * <p>Why a single record: both weight methods of docs/method.md#weights end in the same representation — an
 * integer tensor plus float scales with zero point 0 — which maps directly onto an ONNX
 * {@code DequantizeLinear(int8 initializer, scale)} (per-axis when {@code block == 0}, blocked along axis 0
 * otherwise), or can be pre-dequantized with {@link #dequantize()} when the opset does not allow it.
 *
 * @param rows   D, the input dimension (rows of W)
 * @param cols   N, the output channels (columns of W)
 * @param bits   4 or 8; values lie in [-qmax, qmax] with qmax = 2^(bits-1) - 1
 * @param block  0 for one scale per output channel, else the number of consecutive rows sharing a scale
 *               within each column (the last block may be shorter when D is not a multiple)
 * @param values quantized integers, row-major [D, N]
 * @param scales row-major [scaleRows(), N]: [1, N] per channel, [ceil(D / block), N] per block
 */
public record QuantizedWeight(int rows, int cols, int bits, int block, byte[] values, float[] scales) {

    public QuantizedWeight {
        if (rows <= 0 || cols <= 0) throw new IllegalArgumentException("shape must be positive: [" + rows + ", " + cols + "]");
        if (bits != 4 && bits != 8) throw new IllegalArgumentException("bits must be 4 or 8, got " + bits);
        if (block < 0) throw new IllegalArgumentException("block must be >= 0, got " + block);
        if (values.length != rows * cols) throw new IllegalArgumentException("values length " + values.length + " != " + rows * cols);
        int sr = scaleRows(rows, block);
        if (scales.length != sr * cols) throw new IllegalArgumentException("scales length " + scales.length + " != " + sr * cols);
    }

    /** Number of scale rows for D rows and the given block (1 when per channel). */
    public static int scaleRows(int rows, int block) {
        return block == 0 ? 1 : (rows + block - 1) / block;
    }

    /** Largest quantized magnitude for {@code bits}: 7 for int4, 127 for int8. */
    public static int qmax(int bits) {
        if (bits != 4 && bits != 8) throw new IllegalArgumentException("bits must be 4 or 8, got " + bits);
        return (1 << (bits - 1)) - 1;
    }

    public int qmax() { return qmax(bits); }

    public int scaleRows() { return scaleRows(rows, block); }

    /** Integer value at row d (input feature), column n (output channel). */
    public int value(int d, int n) { return values[d * cols + n]; }

    /** Scale applied to element (d, n). */
    public float scale(int d, int n) {
        int r = block == 0 ? 0 : d / block;
        return scales[r * cols + n];
    }

    /** The dequantized weight, row-major [D, N]: value * scale. */
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        for (int d = 0; d < rows; d++) {
            int r = block == 0 ? 0 : d / block;
            for (int n = 0; n < cols; n++) out[d * cols + n] = values[d * cols + n] * scales[r * cols + n];
        }
        return out;
    }
}
