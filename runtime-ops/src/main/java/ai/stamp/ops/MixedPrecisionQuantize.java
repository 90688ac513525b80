package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@code MixedPrecisionQuantize} (Z, levels -> Zq, scale, zero_point): the integer half of {@link MixedPrecisionQdq}.
 * The same per-token asymmetric min-max numerics (docs/method.md#activation-quantization-numerics), but the quantized values are kept as
 * integers for an integer GEMM ({@link ScaledMatMulInteger}, docs/method.md#integer-form):
 * <pre>
 *   mn = min(0, min z)   mx = max(0, max z)   scale = max(mx - mn, EPS) / q
 *   zp = round(-mn / scale)                   Zq = uint8(clip(round(z / scale) + zp, 0, q))
 * </pre>
 * Z [..., T, D] float, levels [T, 1] (q = 2^b - 1 per token, from {@link TokenPrecision}); Zq [..., T, D] uint8 in
 * 0..q (0..15 for a 4-bit token), scale and zero_point [..., T, 1] float (zero_point integer-valued). So
 * {@code (Zq - zero_point) * scale} is exactly what {@link MixedPrecisionQdq} returns.
 */
public final class MixedPrecisionQuantize implements StampOp {
    public static final String OP = "MixedPrecisionQuantize";

    /**
     * How the body spells {@code round(z / scale) + zp}, clipped, as uint8. QuantizeLinear does the division, the
     * rounding (half to even), the zero point and the saturation in one pass over Z instead of five: per axis it needs
     * opset 13, or ONNX Runtime's com.microsoft QuantizeLinear at any opset. It saturates at 255, not at a 4-bit
     * token's 15: the two differ only where round(z / scale) + zp exceeds q, which needs both ends of the token's
     * range to sit exactly on rounding ties (the value is then 16, still a valid uint8 for the integer GEMM).
     */
    public enum Form {
        /** Div, Round, Add, Min, Cast: standard ops at every opset. */
        ARITHMETIC(""),
        /** Per-axis QuantizeLinear of the default domain (opset 13+). */
        QUANTIZE_LINEAR("_ql"),
        /** com.microsoft QuantizeLinear (ONNX Runtime only), per axis at any opset. */
        ONNXRUNTIME("_ort");

        private final String suffix;

        Form(String suffix) { this.suffix = suffix; }
    }

    public static final MixedPrecisionQuantize INSTANCE = new MixedPrecisionQuantize(Form.ARITHMETIC);

    private final Form form;

    private MixedPrecisionQuantize(Form form) { this.form = form; }

    public static MixedPrecisionQuantize of(Form form) { return form == Form.ARITHMETIC ? INSTANCE : new MixedPrecisionQuantize(form); }

    public Form form() { return form; }

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP + form.suffix; }
    @Override public List<String> inputs() { return List.of("Z", "levels"); }
    @Override public List<String> outputs() { return List.of("Zq", "scale", "zero_point"); }
    @Override public String describe() {
        return "per-token asymmetric min-max to uint8, eps=" + QuantNumerics.EPS + (form == Form.ARITHMETIC ? "" : ", " + form.name().toLowerCase(java.util.Locale.ROOT));
    }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        if (form == Form.QUANTIZE_LINEAR && opset < 13) throw new IllegalArgumentException("per-axis QuantizeLinear needs opset 13, got " + opset);
        OnnxDialect d = new OnnxDialect(opset);
        // the same scale and zero point as MixedPrecisionQdq, so the two agree to the bit
        MixedPrecisionQdq.TokenRange range = MixedPrecisionQdq.TokenRange.of(d, "Z", "levels");
        String scale = range.scale(), zp = range.zeroPoint();
        if (form == Form.ARITHMETIC) {
            // round(z/scale) + zp >= 0 always (round is odd-symmetric and z >= mn), so only the top needs the clip
            String zi = d.min(d.add(d.round(d.div("Z", scale)), zp), "levels");
            d.emit("Cast", List.of(OnnxDialect.intAttr("to", OnnxMl.TensorProto.DataType.UINT8_VALUE)), List.of("Zq"), zi);
        } else {
            // one token per row of a [rows, D] view, its scale and zero point along axis 0
            String shape = d.shape("Z");
            String rows2d = d.reshape("Z", d.concat(0, d.ints(-1), d.slice(shape, 0, -1, OnnxDialect.END)));
            String flat = d.ints(-1);
            String zpU8 = d.cast(d.reshape(zp, flat), OnnxMl.TensorProto.DataType.UINT8_VALUE);
            List<OnnxMl.AttributeProto> axis0 = List.of(OnnxDialect.intAttr("axis", 0));
            String q = form == Form.QUANTIZE_LINEAR
                    ? d.op("QuantizeLinear", axis0, rows2d, d.reshape(scale, flat), zpU8)
                    : d.opIn(OnnxDialect.ONNXRUNTIME_DOMAIN, 1, "QuantizeLinear", axis0, rows2d, d.reshape(scale, flat), zpU8);
            d.emit("Reshape", List.of(), List.of("Zq"), q, shape);
        }
        d.emit("Identity", List.of(), List.of("scale"), scale);
        d.emit("Identity", List.of(), List.of("zero_point"), zp);
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    /** The kernel's result: {@code values} row-major [..., T, D] in 0..q, {@code scale} and {@code zeroPoint} one per token row. */
    public record Quantized(int[] values, float[] scale, float[] zeroPoint, long[] shape) {}

    /** Reference kernel, float32, the literal spec formula; levels [T, 1] broadcast over Z [..., T, D]. */
    public static Quantized apply(FloatTensor z, FloatTensor levels) {
        int dd = (int) z.dim(-1), t = (int) z.dim(-2);
        if (levels.data().length != t) throw new IllegalArgumentException("levels " + levels + " do not match " + t + " tokens");
        float[] in = z.data();
        int rows = in.length / Math.max(dd, 1);
        int[] values = new int[in.length];
        float[] scales = new float[rows], zps = new float[rows];
        float[] lv = levels.data();
        for (int row = 0; row < rows; row++) {
            int off = row * dd;
            float q = lv[row % t];
            float scale = MixedPrecisionQdq.scale(in, off, dd, q);
            float mn = 0f;
            for (int i = 0; i < dd; i++) mn = Math.min(mn, in[off + i]);
            float zp = Math.min(Math.max((float) Math.rint(-mn / scale), 0f), q);
            for (int i = 0; i < dd; i++) values[off + i] = (int) Math.min(Math.max((float) Math.rint(in[off + i] / scale) + zp, 0f), q);
            // (the QuantizeLinear forms saturate at 255 instead of q: they differ only on the tie described at Form)
            scales[row] = scale;
            zps[row] = zp;
        }
        return new Quantized(values, scales, zps, z.shape().clone());
    }
}
