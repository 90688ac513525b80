package ai.stamp.compiler.passes.dequantize;

import static ai.stamp.compiler.passes.dequantize.Variants.init;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.testmodels.GraphBuilder;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * --dequantize-weights then RTN8 per channel (the default) of an int8 symmetric per-output-channel QDQ weight keeps
 * its integers and scales bit for bit, also where max|q| < 127 (RTN would rescale those columns).
 */
class QdqIntegerReuseTest {
    /**
     * x [10, 16] → MatMul 'fc1' (DequantizeLinear(int8 [16, 12], scale [12], axis 1, no zero point)) → Relu → Gemm
     * 'fc2' transB (DequantizeLinear(int8 [8, 12], scale [8], axis 0, zero point 0)) → y [10, 8]; {@code zp2}: fc2's
     * zero point value.
     */
    private static OnnxMl.ModelProto model(int zp2) {
        Random r = new Random(5);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("qdq_sym");
        g.addInput(Variants.valueInfo("x", TensorProto.newBuilder().setDataType(1).addDims(10).addDims(16).build()));
        g.addInitializer(Variants.bytes(TensorProto.DataType.INT8_VALUE, codes(r, 16, 12, 1), 16, 12).toBuilder().setName("W1_q"));
        g.addInitializer(Variants.floats(scales(r, 12), 12).toBuilder().setName("W1_scale"));
        g.addInitializer(Variants.bytes(TensorProto.DataType.INT8_VALUE, codes(r, 8, 12, 0), 8, 12).toBuilder().setName("W2_q"));
        g.addInitializer(Variants.floats(scales(r, 8), 8).toBuilder().setName("W2_scale"));
        byte[] zp = new byte[8];
        java.util.Arrays.fill(zp, (byte) zp2);
        g.addInitializer(Variants.bytes(TensorProto.DataType.INT8_VALUE, zp, 8).toBuilder().setName("W2_zp"));
        g.addNode(Variants.n("DequantizeLinear", "W1_dq", List.of("W1_q", "W1_scale"), "W1", GraphBuilder.intAttr("axis", 1)));
        g.addNode(Variants.n("MatMul", "fc1", List.of("x", "W1"), "h"));
        g.addNode(Variants.n("Relu", "relu", List.of("h"), "hr"));
        g.addNode(Variants.n("DequantizeLinear", "W2_dq", List.of("W2_q", "W2_scale", "W2_zp"), "W2", GraphBuilder.intAttr("axis", 0)));
        g.addNode(Variants.n("Gemm", "fc2", List.of("hr", "W2"), "y", GraphBuilder.intAttr("transB", 1)));
        g.addOutput(Variants.valueInfo("y", TensorProto.newBuilder().setDataType(1).addDims(10).addDims(8).build()));
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
    }

    /** int8 codes [rows, cols]; along {@code channelAxis}, even channels reach ±127, odd ones stay within ±60. */
    private static byte[] codes(Random r, int rows, int cols, int channelAxis) {
        byte[] b = new byte[rows * cols];
        for (int i = 0; i < b.length; i++) {
            int channel = channelAxis == 1 ? i % cols : i / cols;
            int range = channel % 2 == 0 ? 127 : 60;
            b[i] = (byte) (r.nextInt(2 * range + 1) - range);
        }
        for (int c = 0; c < (channelAxis == 1 ? cols : rows); c += 2) b[channelAxis == 1 ? c : c * cols] = (byte) (c % 4 == 0 ? 127 : -127);
        return b;
    }

    private static float[] scales(Random r, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = 0.001f + 0.03f * r.nextFloat();
        return s;
    }

    private static byte[] transpose(byte[] v, int rows, int cols) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out[j * rows + i] = v[i * cols + j];
        return out;
    }

    @Test
    void theIntegerFormStoresTheQdqWeightsOwnIntegersAndScales() {
        OnnxMl.ModelProto m = model(0);
        StampResult r = StampCompiler.compile(m, StampConfig.builder().dequantizeWeights(true).build());
        assertEquals(List.of("fc1", "fc2"), r.report().rewritten().stream().map(StampReport.Layer::name).toList(), r.report().toJson());
        for (StampReport.Layer l : r.report().rewritten()) assertTrue(l.toString().contains("the QDQ weight's own int8 values and scales"), l.toString());
        OnnxMl.GraphProto in = m.getGraph(), out = r.model().getGraph();
        assertEquals(TensorProto.DataType.INT8_VALUE, init(out, "W1_rtn8").getDataType());
        assertArrayEquals(init(in, "W1_q").getRawData().toByteArray(), init(out, "W1_rtn8").getRawData().toByteArray(), "fc1: bit for bit");
        assertArrayEquals(Tensors.floats(init(in, "W1_scale")), Tensors.floats(init(out, "W1_rtn8_scale")));
        // the Gemm reads W2 as [N, D]: stored [D, N], its transpose
        assertArrayEquals(transpose(init(in, "W2_q").getRawData().toByteArray(), 8, 12), init(out, "W2_rtn8").getRawData().toByteArray(), "fc2");
        assertArrayEquals(Tensors.floats(init(in, "W2_scale")), Tensors.floats(init(out, "W2_rtn8_scale")));
        Ort.Tensor x = Ort.random(3, 10, 16);
        double sqnr = Ort.sqnrDb(Ort.run(m, Map.of("x", x)).get("y"), Ort.run(r.model(), Map.of("x", x)).get("y"));
        // the weights are exact: what is left is the activation quantization of the default config
        assertTrue(sqnr > 20, "SQNR " + sqnr);
    }

    @Test
    void theDequantizeLinearFormKeepsThemTooAndOtherMethodsOrZeroPointsDoNot() {
        OnnxMl.ModelProto m = model(0);
        StampResult simulate = StampCompiler.compile(m, StampConfig.builder().dequantizeWeights(true).emit(StampConfig.Emit.SIMULATE).build());
        assertArrayEquals(init(m.getGraph(), "W1_q").getRawData().toByteArray(), init(simulate.model().getGraph(), "W1_rtn8").getRawData().toByteArray());
        // a nonzero zero point: not symmetric, RTN quantizes the float weight (and rescales the columns with max|q| < 127)
        StampResult zp = StampCompiler.compile(model(1), StampConfig.builder().dequantizeWeights(true).build());
        assertFalse(zp.report().rewritten().get(1).toString().contains("own int8 values"), zp.report().rewritten().get(1).toString());
        assertTrue(zp.report().rewritten().get(0).toString().contains("own int8 values"), "fc1 still has no zero point");
        // RTN would not have given fc1's integers back: the odd columns stay within ±60
        StampResult rtn4 = StampCompiler.compile(m, StampConfig.builder().dequantizeWeights(true).weights(StampConfig.WeightQuant.RTN4).build());
        assertFalse(rtn4.report().rewritten().get(0).toString().contains("own int8 values"));
        byte[] q = init(m.getGraph(), "W1_q").getRawData().toByteArray();
        var requantized = ai.stamp.compiler.quant.RtnQuantizer.quantize(
                ai.stamp.compiler.quant.Dequantization.dequantize(init(m.getGraph(), "W1_q"), init(m.getGraph(), "W1_scale"), null, 1).orElseThrow(), 16, 12, 8);
        assertFalse(java.util.Arrays.equals(q, requantized.values()), "plain RTN rescales the columns with max|q| < 127");
    }
}
