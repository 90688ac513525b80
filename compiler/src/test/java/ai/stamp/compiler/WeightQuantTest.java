package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampConfig.Mode;
import ai.stamp.compiler.StampConfig.WeightQuant;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.compiler.quant.RtnQuantizer;
import ai.stamp.testmodels.GraphBuilder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** RTN weight quantization in the pass: the forms emitted per opset, and their numbers in ORT. */
class WeightQuantTest {
    private static final int D = 64;
    private static final int N = 32;

    /** x [batch, seq, d] -> MatMul W [d, n] -> Add b. */
    private static OnnxMl.ModelProto linear(int opset, long ir, int d, int n) {
        GraphBuilder g = new GraphBuilder(7);
        g.input("x", "batch", "seq", d);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, d, n)), List.of("proj_out"));
        g.node("Add", "bias", List.of("proj_out", g.weight("b", 0.5f, n)), List.of("y"));
        g.output("y", "batch", "seq", n);
        return g.model(opset, ir);
    }

    /** x [batch, seq, d] -> Gemm(W [n, d], C, transB=1). Gemm needs rank 2: x is [seq, d]. */
    private static OnnxMl.ModelProto gemmTransB(int opset, long ir) {
        GraphBuilder g = new GraphBuilder(11);
        g.input("x", "seq", D);
        g.node("Gemm", "fc", List.of("x", g.weight("W", 0.5f, N, D), g.weight("C", 0.5f, N)), List.of("y"),
                GraphBuilder.intAttr("transB", 1));
        g.output("y", "seq", N);
        return g.model(opset, ir);
    }

    private static StampConfig config(Mode mode, WeightQuant w, int block) {
        // the float product: these tests are about how the weight is stored for it (the integer form has its own tests)
        return StampConfig.builder().mode(mode).weights(w).weightBlock(block).emit(StampConfig.Emit.SIMULATE).build();
    }

    private static Optional<OnnxMl.TensorProto> init(OnnxMl.ModelProto m, String name) {
        return m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst();
    }

    private static float[] floats(OnnxMl.TensorProto t) {
        float[] v = new float[t.getFloatDataCount()];
        for (int i = 0; i < v.length; i++) v[i] = t.getFloatData(i);
        return v;
    }

    /** The model with its weight W replaced by its RTN-dequantized values (W [rows, cols]; transposed: quantized as [cols, rows]). */
    private static OnnxMl.ModelProto withDequantizedWeight(OnnxMl.ModelProto m, int bits, int block, boolean transposed) {
        OnnxMl.TensorProto w = init(m, "W").orElseThrow();
        int rows = (int) w.getDims(0), cols = (int) w.getDims(1);
        float[] v = floats(w);
        float[] dq;
        if (!transposed) {
            dq = RtnQuantizer.quantize(v, rows, cols, bits, block).dequantize();
        } else {
            float[] t = new float[v.length];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = v[r * cols + c];
            float[] q = RtnQuantizer.quantize(t, cols, rows, bits, block).dequantize();
            dq = new float[v.length];
            for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) dq[r * cols + c] = q[c * rows + r];
        }
        OnnxMl.TensorProto.Builder nw = w.toBuilder().clearFloatData();
        for (float f : dq) nw.addFloatData(f);
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) if (g.getInitializer(i).getName().equals("W")) g.setInitializer(i, nw);
        return m.toBuilder().setGraph(g).build();
    }

    @Test
    void opset13EmitsInt8DequantizeLinearPerChannel() {
        OnnxMl.ModelProto before = linear(13, 8, 8, 4);
        assertEquals("""
                proj_out = MatMul(x, W)
                y = Add(proj_out, b)""", GraphDump.of(before.getGraph()));
        StampResult r = StampCompiler.compile(before, config(Mode.STAMP, WeightQuant.RTN8, 0));
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                x_stamp_levels = ai.stamp.TokenPrecision_haar1d_l3_s1_b8-4_band(x_stamp_coeffs)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x_stamp_coeffs, x_stamp_levels)
                W_dq = DequantizeLinear(W_rtn8, W_rtn8_scale)
                proj_out_coeffs = MatMul(x_stamp_q, W_dq)
                proj_out = ai.stamp.HaarSequenceInverse_l3_s1(proj_out_coeffs, x)
                y = Add(proj_out, b)""", GraphDump.of(r.model().getGraph()));
        OnnxMl.TensorProto q = init(r.model(), "W_rtn8").orElseThrow();
        assertEquals(OnnxMl.TensorProto.DataType.INT8_VALUE, q.getDataType());
        assertEquals(List.of(8L, 4L), q.getDimsList());
        assertEquals(List.of(4L), init(r.model(), "W_rtn8_scale").orElseThrow().getDimsList());
        assertFalse(init(r.model(), "W").isPresent(), "the MatMul was W's only reader: it is removed");
        OnnxMl.NodeProto dq = r.model().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("DequantizeLinear")).findFirst().orElseThrow();
        assertEquals(1, Attrs.i(dq, "axis", -1));
        assertEquals(2, dq.getInputCount(), "symmetric: no zero point");
        assertEquals("A8/4 hi-tokens=sink+band; W8 rtn per-channel as DequantizeLinear(int8)", r.report().rewritten().get(0).detail());
        assertTrue(r.report().config().endsWith(" weights=rtn8 emit=simulate"), r.report().config());
    }

    @Test
    void opset11StoresInt8WithCastAndMul() {
        OnnxMl.ModelProto before = linear(11, 6, 8, 4);
        StampResult r = StampCompiler.compile(before, config(Mode.BASELINE, WeightQuant.RTN4, 0));
        assertEquals("""
                x_stamp_levels = ai.stamp.TokenPrecision_identity_l3_s1_b8-4_band(x)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x, x_stamp_levels)
                W_f = Cast(W_rtn4)
                W_dq = Mul(W_f, W_rtn4_scale)
                proj_out = MatMul(x_stamp_q, W_dq)
                y = Add(proj_out, b)""", GraphDump.of(r.model().getGraph()));
        OnnxMl.TensorProto w = init(r.model(), "W_rtn4").orElseThrow();
        assertEquals(OnnxMl.TensorProto.DataType.INT8_VALUE, w.getDataType(), "int8 storage at opset 11: the model shrinks");
        assertEquals(List.of(8L, 4L), w.getDimsList());
        assertEquals(List.of(4L), init(r.model(), "W_rtn4_scale").orElseThrow().getDimsList());
        assertFalse(init(r.model(), "W").isPresent());
        assertEquals("A8/4 hi-tokens=sink+band; W4 rtn per-channel as Cast+Mul(int8, 4-bit values; opset 11 has no per-axis DequantizeLinear)",
                r.report().rewritten().get(0).detail());
        StampResult r8 = StampCompiler.compile(before, config(Mode.BASELINE, WeightQuant.RTN8, 0));
        assertTrue(r8.report().rewritten().get(0).detail().endsWith("W8 rtn per-channel as Cast+Mul(int8; opset 11 has no per-axis DequantizeLinear)"));
        // the same numbers as the dequantized float weight: the output matches DequantizeLinear's at opset 13
        Map<String, Object> in = Map.of("x", Ort.random(3, 2, 6, 8));
        float[] y11 = Ort.run(r8.model(), in).get("y");
        float[] y13 = Ort.run(StampCompiler.compile(linear(13, 8, 8, 4), config(Mode.BASELINE, WeightQuant.RTN8, 0)).model(), in).get("y");
        assertTrue(Ort.maxRelativeError(y13, y11) < 1e-6, "Cast+Mul = DequantizeLinear");
    }

    @Test
    void formsPerOpsetAndBlock() {
        assertEquals("W4 rtn per-channel as DequantizeLinear(int8; opset 13 has no int4)", weightDetail(13, WeightQuant.RTN4, 0));
        assertEquals("W8 rtn block=16 as pre-dequantized float (opset 20 has no blocked DequantizeLinear)", weightDetail(20, WeightQuant.RTN8, 16));
        assertEquals("W4 rtn per-channel as DequantizeLinear(int4)", weightDetail(21, WeightQuant.RTN4, 0));
        assertEquals("W4 rtn block=16 as DequantizeLinear(int4)", weightDetail(21, WeightQuant.RTN4, 16));
        assertEquals("W8 rtn block=16 as DequantizeLinear(int8)", weightDetail(21, WeightQuant.RTN8, 16));
        StampResult r = StampCompiler.compile(linear(21, 10, D, N), config(Mode.TRANSFORM_ONLY, WeightQuant.RTN4, 16));
        OnnxMl.TensorProto q = init(r.model(), "W_rtn4").orElseThrow();
        assertEquals(OnnxMl.TensorProto.DataType.INT4_VALUE, q.getDataType());
        assertEquals(D * N / 2, q.getRawData().size());
        assertEquals(List.of((long) D / 16, (long) N), init(r.model(), "W_rtn4_scale").orElseThrow().getDimsList());
    }

    private static String weightDetail(int opset, WeightQuant w, int block) {
        String detail = StampCompiler.compile(linear(opset, opset >= 21 ? 10 : 8, D, N), config(Mode.TRANSFORM_ONLY, w, block))
                .report().rewritten().get(0).detail();
        return detail.substring(detail.indexOf("; ") + 2);
    }

    @Test
    void transformOnlyWithRtnEqualsTheDequantizedReference() {
        Map<String, Object> in = Map.of("x", Ort.random(3, 2, 24, D));
        record Case(OnnxMl.ModelProto model, WeightQuant w, int block) {}
        for (Case c : List.of(new Case(linear(13, 8, D, N), WeightQuant.RTN8, 0), new Case(linear(11, 6, D, N), WeightQuant.RTN8, 0),
                new Case(linear(21, 10, D, N), WeightQuant.RTN4, 16), new Case(linear(21, 10, D, N), WeightQuant.RTN8, 16))) {
            StampResult r = StampCompiler.compile(c.model(), config(Mode.TRANSFORM_ONLY, c.w(), c.block()));
            float[] expected = Ort.run(withDequantizedWeight(c.model(), c.w().bits(), c.block(), false), in).get("y");
            // ORT fuses an int4 blocked DequantizeLinear + MatMul into MatMulNBits, which by default (accuracy level 4)
            // also quantizes the activation to int8 (~0.5 % off); level 0 keeps it float, so the graph's own numbers show.
            float[] actual = Ort.run(r.model(), in, Map.of("session.qdq_matmulnbits_accuracy_level", "0")).get("y");
            double err = Ort.maxRelativeError(expected, actual);
            assertTrue(err < 1e-5, c.w() + " opset " + OpsetCheck.defaultOpset(c.model()) + ": " + err);
        }
        // Gemm transB=1: the matrix is quantized as the MatMul uses it, [D, N], and no Transpose is left
        OnnxMl.ModelProto gemm = gemmTransB(13, 8);
        StampResult r = StampCompiler.compile(gemm, config(Mode.TRANSFORM_ONLY, WeightQuant.RTN8, 0));
        assertTrue(r.model().getGraph().getNodeList().stream().noneMatch(n -> n.getOpType().equals("Transpose")), GraphDump.of(r.model().getGraph()));
        Map<String, Object> in2 = Map.of("x", Ort.random(4, 24, D));
        double err = Ort.maxRelativeError(Ort.run(withDequantizedWeight(gemm, 8, 0, true), in2).get("y"), Ort.run(r.model(), in2).get("y"));
        assertTrue(err < 1e-5, "gemm: " + err);
    }

    @Test
    void w8IsCloseToFloatAndW4IsWorse() {
        OnnxMl.ModelProto before = linear(13, 8, D, N);
        Map<String, Object> in = Map.of("x", Ort.random(5, 2, 32, D));
        float[] ref = Ort.run(before, in).get("y");
        double w8 = Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(before, config(Mode.TRANSFORM_ONLY, WeightQuant.RTN8, 0)).model(), in).get("y"));
        double w4 = Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(before, config(Mode.TRANSFORM_ONLY, WeightQuant.RTN4, 0)).model(), in).get("y"));
        assertTrue(w8 > 35, "W8 SQNR " + w8);
        assertTrue(w4 < w8 - 15, "W4 " + w4 + " dB vs W8 " + w8 + " dB");
        assertTrue(w4 > 10, "W4 SQNR " + w4);
    }

    @Test
    void weightThatDoesNotFoldToFloatsIsLeftAndReported() {
        // a Transpose, Reshape, Cast or Constant weight is folded (WeightChainsTest); a Cast of int32 values is not
        GraphBuilder g = new GraphBuilder(7);
        g.input("x", "batch", "seq", 8);
        g.node("Cast", "wt", List.of(g.int32Weight("W0", 3, 8, 4)), List.of("W"), GraphBuilder.intAttr("to", OnnxMl.TensorProto.DataType.FLOAT_VALUE));
        g.node("MatMul", "proj", List.of("x", "W"), List.of("y"));
        g.output("y", "batch", "seq", 4);
        StampResult r = StampCompiler.compile(g.model(13, 8), config(Mode.STAMP, WeightQuant.RTN8, 0));
        assertEquals(1, r.report().rewritten().size());
        assertTrue(r.report().rewritten().get(0).detail().endsWith(
                "W8 rtn per-channel skipped: weight 'W' is computed from 'W0', which holds int32 values, not floating point (weight left as it is)"),
                r.report().rewritten().get(0).detail());
        assertTrue(GraphDump.of(r.model().getGraph()).startsWith("W = Cast(W0)\n"), GraphDump.of(r.model().getGraph()));
        assertTrue(GraphDump.of(r.model().getGraph()).contains("MatMul(x_stamp_q, W)"));
    }

    @Test
    void outerScopeWeightIsQuantizedOnceInTheMainGraphForBothBranches() {
        OnnxMl.ModelProto model = ai.stamp.testmodels.TinyGraphs.linearInsideIf(13, 8, 2);
        StampResult r = StampCompiler.compile(model, config(Mode.TRANSFORM_ONLY, WeightQuant.RTN8, 0));
        for (StampReport.Layer l : r.report().rewritten()) {
            assertTrue(l.detail().endsWith("W8 rtn per-channel as DequantizeLinear(int8); original 'W_outer' dropped (read only by rewritten layers)"), l.detail());
        }
        assertTrue(init(r.model(), "W_outer").isEmpty());
        OnnxMl.GraphProto then = r.model().getGraph().getNode(0).getAttribute(0).getG();
        assertEquals(0, then.getInitializerCount(), "the int8 weight and its scales live in the main graph, shared by both branches");
        assertEquals(2, r.model().getGraph().getInitializerCount(), "one int8 weight and its scales");
        OnnxMl.ModelProto reference = withDequantizedWeight(model.toBuilder().setGraph(model.getGraph().toBuilder()
                .setInitializer(0, model.getGraph().getInitializer(0).toBuilder().setName("W"))).build(), 8, 0, false);
        reference = reference.toBuilder().setGraph(reference.getGraph().toBuilder()
                .setInitializer(0, reference.getGraph().getInitializer(0).toBuilder().setName("W_outer"))).build();
        for (boolean cond : new boolean[] {true, false}) {
            Map<String, Object> in = Map.of("x", Ort.random(9, 13, 8), "cond", cond);
            assertTrue(Ort.maxRelativeError(Ort.run(reference, in).get("y"), Ort.run(r.model(), in).get("y")) < 1e-5, "cond " + cond);
        }
    }

    @Test
    void aWeightOnlyRewrittenLayersReadIsDropped() {
        GraphBuilder g = new GraphBuilder(7);
        g.input("x", "batch", "seq", 8);
        String w = g.weight("W", 0.5f, 8, 8);
        g.node("MatMul", "a", List.of("x", w), List.of("h"));
        g.node("MatMul", "b", List.of("h", w), List.of("y"));
        g.output("y", "batch", "seq", 8);
        StampResult r = StampCompiler.compile(g.model(13, 8), config(Mode.BASELINE, WeightQuant.RTN8, 0));
        assertTrue(init(r.model(), "W").isEmpty(), "both readers are rewritten");
        assertTrue(r.report().rewritten().get(0).detail().endsWith("; original 'W' dropped (read only by rewritten layers)"),
                r.report().rewritten().get(0).detail());
    }

    @Test
    void configValidatesTheBlockAndAlwaysNamesTheWeightMethod() {
        // the default is RTN int8 per channel (float with --mode transform-only), and toString always says which
        assertEquals(StampConfig.defaults().toString(), StampConfig.builder().weights(WeightQuant.RTN8).weightBlock(0).build().toString());
        assertTrue(StampConfig.defaults().toString().endsWith(" weights=rtn8"), StampConfig.defaults().toString());
        assertFalse(StampConfig.defaults().toString().contains("weight-block"));
        assertTrue(StampConfig.builder().weights(WeightQuant.NONE).build().toString().endsWith(" weights=none"));
        StampConfig exact = StampConfig.builder().mode(Mode.TRANSFORM_ONLY).build();
        assertEquals(WeightQuant.NONE, exact.weights());
        assertTrue(exact.toString().endsWith(" weights=none"), exact.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StampConfig.builder().weightBlock(-1).build());
        assertTrue(e.getMessage().startsWith("--weight-block must be > 0"), e.getMessage());
        StampConfig c = config(Mode.STAMP, WeightQuant.RTN4, 32);
        assertEquals(c.toString(), c.toBuilder().build().toString());
    }
}
