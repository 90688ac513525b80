package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@code ScaledMatMulInteger} (Zq, scale, zero_point, Wq, w_colsum, w_scale -> Y): the integer GEMM of STAMP.md
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
    public static final ScaledMatMulInteger INSTANCE = new ScaledMatMulInteger();

    private ScaledMatMulInteger() {}

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP; }
    @Override public List<String> inputs() { return List.of("Zq", "scale", "zero_point", "Wq", "w_colsum", "w_scale"); }
    @Override public List<String> outputs() { return List.of("Y"); }
    @Override public String describe() { return "uint8 x int8 MatMulInteger, per-token scale and zero point, per-channel weight scale"; }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
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
