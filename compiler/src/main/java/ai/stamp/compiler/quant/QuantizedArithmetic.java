package ai.stamp.compiler.quant;

import java.util.Locale;

/** Whether a weight's magnitudes keep the quantized layer's arithmetic finite in float32. */
public final class QuantizedArithmetic {
    /**
     * Largest D·max|w| the quantized arithmetic keeps finite: the integer form's zero-point correction multiplies a
     * column sum (up to 127·D) by its scale (max|w| / 127), and float32 ends at 3.4e38; a tenth of it leaves room for the
     * activations' own magnitude.
     */
    public static final double MAX_FEATURES_TIMES_WEIGHT = 3.4e37;

    private QuantizedArithmetic() {}

    /**
     * Why a weight with largest magnitude {@code maxAbs} over {@code features} input features cannot be quantized with
     * finite arithmetic (NaN or an infinity in it, or products that overflow float32), or null when it can.
     */
    public static String problem(float maxAbs, int features) {
        if (!Float.isFinite(maxAbs)) return "holds " + maxAbs + ", which has no int8 scale";
        if ((double) maxAbs * features > MAX_FEATURES_TIMES_WEIGHT) {
            return String.format(Locale.ROOT, "reaches |w| = %.3g: with %d input features the quantized products would overflow float32",
                    maxAbs, features);
        }
        return null;
    }
}
