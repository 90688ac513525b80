package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@code MixedPrecisionQdq} (Z, levels -> Ẑ): per-token asymmetric min-max fake quantization with a
 * per-token level count (docs/method.md#activation-quantization-numerics). Z [..., T, D], levels [T, 1] (q = 2^b - 1 per token,
 * from {@link TokenPrecision}). Per token row z over D:
 * <pre>
 *   mn = min(0, min z)   mx = max(0, max z)   scale = max(mx - mn, EPS) / q
 *   zp = clip(round(-mn / scale), 0, q)       z_int = clip(round(z / scale) + zp, 0, q)
 *   ẑ = (z_int - zp) · scale                   (round half to even)
 * </pre>
 * The body is plain arithmetic, not QuantizeLinear/DequantizeLinear: ORT fuses a dynamic per-token QDQ
 * next to an int8 weight DequantizeLinear into MatMulIntegerToFloat, which then fails at run time.
 */
public final class MixedPrecisionQdq implements StampOp {
    public static final String OP = "MixedPrecisionQdq";
    public static final MixedPrecisionQdq INSTANCE = new MixedPrecisionQdq();

    public MixedPrecisionQdq() {}

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP; }
    @Override public List<String> inputs() { return List.of("Z", "levels"); }
    @Override public List<String> outputs() { return List.of("Zq"); }
    @Override public String describe() { return "per-token asymmetric min-max, eps=" + QuantNumerics.EPS; }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        TokenRange range = TokenRange.of(d, "Z", "levels");
        String scale = range.scale(), zp = range.zeroPoint();
        // clip(round(z/s) + zp, 0, q) - zp == clip(round(z/s), -zp, q - zp): exact in float32 because zp
        // and round(z/s) are integer-valued floats far below 2^24, and it saves two ops per element.
        String zi = d.min(d.max(d.round(d.div("Z", scale)), d.neg(zp)), d.sub("levels", zp));
        d.output(d.mul(zi, scale), "Zq");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(in[0], in[1]); }

    /** Reference kernel, float32, the literal spec formula; levels [T, 1] broadcast over Z [..., T, D]. */
    public static FloatTensor apply(FloatTensor z, FloatTensor levels) {
        int dd = (int) z.dim(-1), t = (int) z.dim(-2);
        if (levels.data().length != t) throw new IllegalArgumentException("levels " + levels + " do not match " + t + " tokens");
        float[] in = z.data(), out = new float[in.length];
        int rows = in.length / Math.max(dd, 1);
        float[] lv = levels.data();
        for (int row = 0; row < rows; row++) tokenQdq(in, out, row * dd, dd, lv[row % t]);
        return new FloatTensor(out, z.shape().clone());
    }

    /** Scale of one token row (exposed so tests can bound the error per element). */
    public static float scale(float[] data, int off, int len, float q) {
        float mn = 0f, mx = 0f;
        for (int i = 0; i < len; i++) {
            mn = Math.min(mn, data[off + i]);
            mx = Math.max(mx, data[off + i]);
        }
        return Math.max(mx - mn, QuantNumerics.EPS) / q;
    }

    /** One token row, written into {@code out} at the same offset; the same float operations as the spec formula. */
    private static void tokenQdq(float[] data, float[] out, int off, int len, float q) {
        float mn = 0f, mx = 0f;
        for (int i = 0; i < len; i++) {
            float v = data[off + i];
            mn = Math.min(mn, v);
            mx = Math.max(mx, v);
        }
        float scale = Math.max(mx - mn, QuantNumerics.EPS) / q;
        float zp = clip((float) Math.rint(-mn / scale), 0f, q);
        // rint(v) = (v + 1.5·2^23) - 1.5·2^23 exactly (round half to even) for |v| < 2^22, and |z / scale| <= q·(1 + 2 ulp)
        // here; the two differ only in the sign of a zero result, which adding zp (>= +0) erases. All-float, so C2
        // vectorizes the loop; NaN propagates the same way.
        for (int i = 0; i < len; i++) {
            float zi = Math.min(Math.max(((data[off + i] / scale + ROUND) - ROUND) + zp, 0f), q);
            out[off + i] = (zi - zp) * scale;
        }
    }

    private static final float ROUND = 0x1.8p23f;

    /**
     * The per-token scale and zero point in a function body: the part {@link MixedPrecisionQuantize} shares, emitted as
     * the same nodes in the same order so both bodies compute the same values.
     */
    record TokenRange(String scale, String zeroPoint) {
        static TokenRange of(OnnxDialect d, String z, String levels) {
            String zero = d.floatScalar(0f);
            String mn = d.min(d.reduceMin(z, -1), zero); // [..., T, 1]
            String mx = d.max(d.reduceMax(z, -1), zero);
            // true Div (not Mul by a reciprocal) here and in the kernel, so both round identically
            String scale = d.div(d.max(d.sub(mx, mn), d.floatScalar(QuantNumerics.EPS)), levels);
            // zp needs no clip: 0 <= -mn <= mx - mn <= range, so -mn/scale lies in [0, q·(1 + 2 ulp)] and
            // rounds into [0, q]; the kernel keeps the literal clip and the tests compare the two.
            return new TokenRange(scale, d.round(d.div(d.neg(mn), scale)));
        }
    }

    private static float clip(float v, float lo, float hi) { return Math.min(Math.max(v, lo), hi); }
}
