package ai.stamp.ops;

/**
 * The numbers that define STaMP's activation quantization (docs/method.md#activation-quantization-numerics). The function bodies
 * and the Java kernels both read them from here.
 */
public final class QuantNumerics {
    /** Lower bound of a token's quantization range before dividing by the level count. */
    public static final float EPS = 1e-8f;
    public static final int MIN_BITS = 2;
    public static final int MAX_BITS = 8;

    private QuantNumerics() {}

    /** Number of quantization steps q = 2^bits - 1 (unsigned, asymmetric). */
    public static float steps(int bits) {
        if (bits < MIN_BITS || bits > MAX_BITS) {
            throw new IllegalArgumentException("bits must be in " + MIN_BITS + ".." + MAX_BITS + ", got " + bits);
        }
        return (float) ((1 << bits) - 1);
    }
}
