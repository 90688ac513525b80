package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@code ScaledMatMulInteger} (Zq, scale, zero_point, Wq, w_colsum, w_scale -> Y): the integer GEMM of docs/method.md
 * section 5a on the output of {@link MixedPrecisionQuantize} and a symmetric int8 weight:
 * <pre>
 *   Y = ( MatMulInteger(Zq, Wq) - zero_point ⊗ colsum(Wq) ) ⊙ scale ⊙ w_scale
 * </pre>
 * Zq [..., T, D] uint8, scale and zero_point [..., T, 1] float, Wq [D, N] int8 (zero point 0), w_colsum [N] int32
 * (Σ_d Wq[d, n]), w_scale [N] float. ONNX Runtime's MatMulInteger takes only a scalar zero point for its first
 * operand, so the per-token zero point is taken out after the product; the correction is done in int32, where
 * {@code acc - zp·colsum = Σ_d (Zq - zp)·Wq} is exact, so Y differs from the simulation's float product
 * {@code ((Zq - zp)·scale) · (Wq·w_scale)} only by float rounding.
 */
public final class ScaledMatMulInteger implements StampOp {
    public static final String OP = "ScaledMatMulInteger";

    /**
     * How the body spells the product and the correction. Each element-wise op after the GEMM is a full pass over the
     * output, and on narrow layers those passes, not the GEMM, set the latency.
     */
    public enum Form {
        /**
         * Standard ops: MatMulInteger, the correction in int32 (exact), Cast, two Muls: five passes over the output.
         */
        STANDARD(""),
        /**
         * ONNX Runtime's com.microsoft MatMulIntegerToFloat applies the channel scales inside the GEMM; then one Mul by
         * the token scales and one Gemm that adds {@code -(zp·scale) ⊗ (colsum·w_scale)}: two passes. The correction is
         * then taken in float after the scaling: the same numbers to float rounding (acc and zp·colsum are of like
         * size, so little cancels).
         */
        ONNXRUNTIME("_ort");

        private final String suffix;

        Form(String suffix) { this.suffix = suffix; }
    }

    public static final ScaledMatMulInteger INSTANCE = new ScaledMatMulInteger(Form.STANDARD);

    private final Form form;

    private ScaledMatMulInteger(Form form) { this.form = form; }

    public static ScaledMatMulInteger of(Form form) { return form == Form.STANDARD ? INSTANCE : new ScaledMatMulInteger(form); }

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP + form.suffix; }
    @Override public List<String> inputs() { return List.of("Zq", "scale", "zero_point", "Wq", "w_colsum", "w_scale"); }
    @Override public List<String> outputs() { return List.of("Y"); }
    @Override public String describe() {
        return "uint8 x int8 " + (form == Form.STANDARD ? "MatMulInteger" : "com.microsoft MatMulIntegerToFloat")
                + ", per-token scale and zero point, per-channel weight scale";
    }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        return form == Form.STANDARD ? standard(opset) : onnxRuntime(opset);
    }

    private OnnxMl.FunctionProto onnxRuntime(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        // acc·w_scale from the fused kernel (activation scale 1, no zero points)
        String scaled = d.opIn(OnnxDialect.ONNXRUNTIME_DOMAIN, 1, "MatMulIntegerToFloat", List.of(), "Zq", "Wq", d.floatScalar(1f), "w_scale");
        String ys = d.mul(scaled, "scale"); // [..., T, N]
        String shape = d.shape(ys);
        String n = d.slice(shape, 0, -1, OnnxDialect.END);
        String ys2 = d.reshape(ys, d.concat(0, d.ints(-1), n));
        String negZs = d.reshape(d.neg(d.mul("zero_point", "scale")), d.ints(-1, 1)); // [rows, 1]
        String cs = d.reshape(d.mul(d.cast("w_colsum", OnnxMl.TensorProto.DataType.FLOAT_VALUE), "w_scale"), d.ints(1, -1)); // [1, N]
        String y2 = d.op("Gemm", List.of(), negZs, cs, ys2); // ys + (-(zp·scale)) ⊗ (colsum·w_scale), one pass
        d.output(d.reshape(y2, shape), "Y");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    private OnnxMl.FunctionProto standard(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        String acc = d.matMulInteger("Zq", "Wq"); // int32 [..., T, N]
        String zp = d.cast("zero_point", OnnxMl.TensorProto.DataType.INT32_VALUE);
        String exact = d.sub(acc, d.mul(zp, "w_colsum"));
        String y = d.mul(d.mul(d.cast(exact, OnnxMl.TensorProto.DataType.FLOAT_VALUE), "scale"), "w_scale");
        d.output(y, "Y");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    /**
     * Reference kernel: int arithmetic for the product and the correction (exact), then the two scales in float, in
     * the body's order. {@code zq} from {@link MixedPrecisionQuantize#apply}; {@code wq} row-major [D, N].
     */
    public static FloatTensor apply(MixedPrecisionQuantize.Quantized zq, byte[] wq, float[] wScale, int n) {
        long[] shape = zq.shape();
        int dd = (int) shape[shape.length - 1];
        int rows = zq.values().length / Math.max(dd, 1);
        int[] colsum = columnSums(wq, dd, n);
        long[] outShape = shape.clone();
        outShape[outShape.length - 1] = n;
        float[] out = new float[rows * n];
        int[] acc = new int[n];
        for (int r = 0; r < rows; r++) {
            java.util.Arrays.fill(acc, 0);
            for (int k = 0; k < dd; k++) {
                int a = zq.values()[r * dd + k];
                if (a == 0) continue;
                for (int c = 0; c < n; c++) acc[c] += a * wq[k * n + c];
            }
            int zp = (int) zq.zeroPoint()[r];
            for (int c = 0; c < n; c++) out[r * n + c] = ((float) (acc[c] - zp * colsum[c]) * zq.scale()[r]) * wScale[c];
        }
        return new FloatTensor(out, outShape);
    }

    /** Σ_d Wq[d, n] for a row-major [D, N] int8 weight: the {@code w_colsum} input. */
    public static int[] columnSums(byte[] wq, int d, int n) {
        int[] s = new int[n];
        for (int k = 0; k < d; k++) for (int c = 0; c < n; c++) s[c] += wq[k * n + c];
        return s;
    }
}
