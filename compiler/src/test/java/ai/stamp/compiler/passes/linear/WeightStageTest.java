package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.dump;
import static ai.stamp.compiler.passes.linear.LinearFixtures.floats;
import static ai.stamp.compiler.passes.linear.LinearFixtures.hasInitializer;
import static ai.stamp.compiler.passes.linear.LinearFixtures.initializer;
import static ai.stamp.compiler.passes.linear.LinearFixtures.layer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampConfig.Rotation;
import ai.stamp.compiler.StampConfig.WeightQuant;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.quant.FeatureWeightTransform;
import ai.stamp.compiler.quant.Gptq;
import ai.stamp.compiler.quant.Hadamard;
import ai.stamp.compiler.quant.QuantizedWeight;
import ai.stamp.compiler.quant.RtnQuantizer;
import ai.stamp.testmodels.GraphBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WeightStage on its own: the tensors it emits for each {@link WeightPlan} (integer values and scales exactly as
 * RtnQuantizer / Gptq compute them, DequantizeLinear's attributes), and the rewritten layer's numbers in ORT.
 */
class WeightStageTest {
    private static final int D = 32;
    private static final int N = 8;

    @TempDir Path dir;

    /** x [batch, seq, D] -> MatMul 'proj' (W [D, N]) -> y; opset 21 (blocked and INT4 DequantizeLinear exist). */
    private static OnnxMl.ModelProto linear() {
        GraphBuilder g = new GraphBuilder(12);
        g.input("x", "batch", "seq", D);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, D, N)), List.of("y"));
        g.output("y", "batch", "seq", N);
        return g.model(21, 10);
    }

    /** x [seq, D] -> Gemm 'fc' (W stored [N, D], transB = 1, C [N]) -> y. */
    private static OnnxMl.ModelProto gemm() {
        GraphBuilder g = new GraphBuilder(13);
        g.input("x", "seq", D);
        g.node("Gemm", "fc", List.of("x", g.weight("W", 0.5f, N, D), g.weight("C", 0.5f, N)), List.of("y"), GraphBuilder.intAttr("transB", 1));
        g.output("y", "seq", N);
        return g.model(13, 8);
    }

    private static final OnnxMl.ModelProto LINEAR = linear();

    /** The original W goes (the planner's verdict when proj is its only reader). */
    private static final OriginalWeight DROPS_W = new OriginalWeight(List.of(), List.of("W"), "");

    private static WeightPlan plan(WeightPlan.Form form, WeightQuant method, int block, boolean int4, boolean removeOriginal) {
        return new WeightPlan(form, method, block, int4, false, FeaturePlan.NONE, removeOriginal ? DROPS_W : OriginalWeight.KEPT, "");
    }

    private record Emitted(OnnxMl.ModelProto model, String weight, List<NodeProto> nodes) {
        NodeProto dq() { return nodes.get(0); }
    }

    /** Emits the weight for the model's only layer, which then reads it: MatMul(x, W') (+ C for the Gemm). */
    private static Emitted emit(OnnxMl.ModelProto model, WeightPlan plan, CalibrationStats stats, ExternalWeights external, Rotation rotation) {
        LayerMatches m = LinearFixtures.matches(model);
        LinearLayer l = m.layers(m.graphs().get(0)).get(0);
        LinearFixtures.Edit e = LinearFixtures.edit(model, m, LinearLayerRule.NAME);
        WeightStage stage = new WeightStage(e.graph(), stats, external, new RotationStage(e.graph(), rotation));
        List<NodeProto> nodes = new ArrayList<>();
        String w = stage.emit(plan, l, nodes).tensor();
        List<NodeProto> emitted = List.copyOf(nodes);
        if (l.bias().isPresent()) {
            nodes.add(e.graph().node("MatMul", List.of(l.activation(), w), List.of("y_linear"), l.name()));
            nodes.add(e.graph().node("Add", List.of("y_linear", l.bias().get()), List.of(l.output()), l.name()));
        } else {
            nodes.add(e.graph().node("MatMul", List.of(l.activation(), w), List.of(l.output()), l.name()));
        }
        e.graph().replace(l.node(), nodes);
        return new Emitted(e.build(), w, emitted);
    }

    private static Emitted emit(OnnxMl.ModelProto model, WeightPlan plan) {
        return emit(model, plan, CalibrationStats.NONE, ExternalWeights.NONE, Rotation.NONE);
    }

    /** ORT's y equals x · Wdq (Wdq [D, N] as the MatMul uses it, plus C for the Gemm). */
    private static void assertComputes(Emitted e, float[] wDN, boolean gemm) {
        Ort.Tensor x = gemm ? Ort.random(3, 5, D) : Ort.random(3, 2, 5, D);
        float[] expected = LinearFixtures.matmul(x.data(), gemm ? 5 : 10, D, wDN, N);
        if (gemm) {
            float[] c = floats(e.model().getGraph(), "C");
            for (int i = 0; i < expected.length; i++) expected[i] += c[i % N];
        }
        float[] got = Ort.run(e.model(), Map.of("x", x), Map.of("session.qdq_matmulnbits_accuracy_level", "0")).get("y");
        assertTrue(Ort.maxRelativeError(expected, got) < 1e-5, "y: " + Ort.maxRelativeError(expected, got));
    }

    private static byte[] int8(TensorProto t) {
        assertEquals(TensorProto.DataType.INT8_VALUE, t.getDataType());
        return t.getRawData().toByteArray();
    }

    /** INT4 raw data: two values per byte, low nibble first, sign-extended. */
    private static byte[] int4(TensorProto t, int count) {
        assertEquals(TensorProto.DataType.INT4_VALUE, t.getDataType());
        byte[] raw = t.getRawData().toByteArray();
        assertEquals((count + 1) / 2, raw.length);
        byte[] v = new byte[count];
        for (int i = 0; i < count; i++) v[i] = (byte) (((raw[i / 2] >> (i % 2 == 0 ? 0 : 4)) & 0x0F) << 28 >> 28);
        return v;
    }

    @Test
    void unchangedPlanReturnsTheLayersOwnWeight() {
        Emitted e = emit(LINEAR, WeightPlan.unchanged(""));
        assertEquals("W", e.weight());
        assertEquals(List.of(), e.nodes());
        assertEquals(LINEAR.getGraph().getInitializerList(), e.model().getGraph().getInitializerList());
    }

    @Test
    void int8PerChannelIsRtnOfTheWeightAsDequantizeLinearOnAxis1() {
        assertEquals("y = MatMul(x, W)", dump(LINEAR));
        Emitted e = emit(LINEAR, plan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.RTN8, 0, false, true));
        assertEquals("""
                W_dq = DequantizeLinear(W_rtn8, W_rtn8_scale)
                y = MatMul(x, W_dq)""", dump(e.model()));
        assertEquals("W_dq", e.weight());
        QuantizedWeight q = RtnQuantizer.quantize(floats(LINEAR.getGraph(), "W"), D, N, 8, 0);
        TensorProto values = initializer(e.model().getGraph(), "W_rtn8");
        assertEquals(List.of((long) D, (long) N), values.getDimsList());
        assertArrayEquals(q.values(), int8(values));
        TensorProto scales = initializer(e.model().getGraph(), "W_rtn8_scale");
        assertEquals(List.of((long) N), scales.getDimsList());
        assertArrayEquals(q.scales(), Tensors.floats(scales));
        assertEquals(1, Attrs.i(e.dq(), "axis", -1));
        assertFalse(e.dq().getAttributeList().stream().anyMatch(a -> a.getName().equals("block_size")));
        assertEquals(2, e.dq().getInputCount(), "symmetric: no zero point");
        assertFalse(hasInitializer(e.model().getGraph(), "W"), "planned: the original is dropped");
        assertComputes(e, q.dequantize(), false);
    }

    @Test
    void int4BlockedHasBlockScalesAndDequantizeLinearOnAxis0() {
        Emitted e = emit(LINEAR, plan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.RTN4, 16, true, true));
        assertEquals("W_dq = DequantizeLinear(W_rtn4, W_rtn4_scale)\ny = MatMul(x, W_dq)", dump(e.model()));
        QuantizedWeight q = RtnQuantizer.quantize(floats(LINEAR.getGraph(), "W"), D, N, 4, 16);
        assertArrayEquals(q.values(), int4(initializer(e.model().getGraph(), "W_rtn4"), D * N));
        TensorProto scales = initializer(e.model().getGraph(), "W_rtn4_scale");
        assertEquals(List.of((long) D / 16, (long) N), scales.getDimsList());
        assertArrayEquals(q.scales(), Tensors.floats(scales));
        assertEquals(0, Attrs.i(e.dq(), "axis", -1));
        assertEquals(16, Attrs.i(e.dq(), "block_size", -1));
        assertComputes(e, q.dequantize(), false);
        // the same plan in int8 storage: the 4-bit values in an INT8 tensor
        Emitted e8 = emit(LINEAR, plan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.RTN4, 16, false, true));
        assertArrayEquals(q.values(), int8(initializer(e8.model().getGraph(), "W_rtn4")));
    }

    @Test
    void preDequantizedIsTheRtnValuesAsFloats() {
        Emitted e = emit(LINEAR, plan(WeightPlan.Form.PRE_DEQUANTIZED, WeightQuant.RTN8, 0, false, true));
        assertEquals("y = MatMul(x, W_rtn8_dequantized)", dump(e.model()));
        assertEquals(List.of(), e.nodes());
        float[] dq = RtnQuantizer.quantize(floats(LINEAR.getGraph(), "W"), D, N, 8, 0).dequantize();
        assertArrayEquals(dq, floats(e.model().getGraph(), "W_rtn8_dequantized"));
        assertComputes(e, dq, false);
    }

    @Test
    void theOriginalIsKeptUnlessThePlanDropsIt() {
        Emitted kept = emit(LINEAR, plan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.RTN8, 0, false, false));
        assertTrue(hasInitializer(kept.model().getGraph(), "W"));
        assertArrayEquals(floats(LINEAR.getGraph(), "W"), floats(kept.model().getGraph(), "W"), "untouched");
        Emitted dropped = emit(LINEAR, plan(WeightPlan.Form.PRE_DEQUANTIZED, WeightQuant.RTN8, 0, false, true));
        assertFalse(hasInitializer(dropped.model().getGraph(), "W"));
    }

    @Test
    void aTransposedGemmWeightIsQuantizedAsTheMatMulUsesIt() {
        OnnxMl.ModelProto gemm = gemm();
        Emitted e = emit(gemm, plan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.RTN8, 0, false, true));
        assertEquals("""
                W_dq = DequantizeLinear(W_rtn8, W_rtn8_scale)
                y_linear = MatMul(x, W_dq)
                y = Add(y_linear, C)""", dump(e.model()));
        float[] wDN = Tensors.transpose(floats(gemm.getGraph(), "W"), N, D);
        QuantizedWeight q = RtnQuantizer.quantize(wDN, D, N, 8, 0);
        TensorProto values = initializer(e.model().getGraph(), "W_rtn8");
        assertEquals(List.of((long) D, (long) N), values.getDimsList(), "[D, N], not the stored [N, D]");
        assertArrayEquals(q.values(), int8(values));
        assertArrayEquals(q.scales(), floats(e.model().getGraph(), "W_rtn8_scale"));
        assertComputes(e, q.dequantize(), true);
    }

    @Test
    void featureTransformsAreFoldedIntoTheWeightBeforeQuantization() {
        double[] r = Hadamard.matrix(D);
        FeatureWeightTransform rot = new FeatureWeightTransform(null, r);
        float[] w = floats(LINEAR.getGraph(), "W");
        FeaturePlan rotated = new FeaturePlan(Optional.empty(), Optional.of(Rotation.HADAMARD), D, "");
        Emitted f = emit(LINEAR, new WeightPlan(WeightPlan.Form.FLOAT, WeightQuant.NONE, 0, false, false, rotated, DROPS_W, ""),
                CalibrationStats.NONE, ExternalWeights.NONE, Rotation.HADAMARD);
        assertEquals("y = MatMul(x, W_rot)", dump(f.model()));
        assertArrayEquals(rot.apply(w, D, N), floats(f.model().getGraph(), "W_rot"));

        // RTN of diag(s)·W
        float[] s = new float[D];
        for (int j = 0; j < D; j++) s[j] = 0.25f + j * 0.1f;
        SmoothingPlanner.Decision d = new SmoothingPlanner.Decision("x", s, List.of(), Optional.empty(), "test", 0.5);
        FeaturePlan smoothed = new FeaturePlan(Optional.of(d), Optional.empty(), D, "");
        Emitted sq = emit(LINEAR, new WeightPlan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.RTN8, 0, false, false, smoothed, DROPS_W, ""),
                CalibrationStats.NONE, ExternalWeights.NONE, Rotation.NONE);
        assertEquals("W_dq = DequantizeLinear(W_smooth_rtn8, W_smooth_rtn8_scale)\ny = MatMul(x, W_dq)", dump(sq.model()));
        QuantizedWeight qs = RtnQuantizer.quantize(new FeatureWeightTransform(s, null).apply(w, D, N), D, N, 8, 0);
        assertArrayEquals(qs.values(), int8(initializer(sq.model().getGraph(), "W_smooth_rtn8")));
        assertComputes(sq, qs.dequantize(), false);
    }

    @Test
    void gptqQuantizesWithTheCalibratedGramMatrixTransformedLikeTheWeight() {
        float[] x = Ort.random(21, 64, D).data();
        double[] gram = Gptq.gram(x, 64, D);
        CalibrationStats stats = new CalibrationStats(Map.of("x", new ActivationStats("x", D, 64, new float[D], gram, Map.of(), 0)), 1, 0);
        float[] w = floats(LINEAR.getGraph(), "W");
        Emitted e = emit(LINEAR, plan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.GPTQ8, 0, false, true), stats, ExternalWeights.NONE, Rotation.NONE);
        assertEquals("W_dq = DequantizeLinear(W_gptq8, W_gptq8_scale)\ny = MatMul(x, W_dq)", dump(e.model()));
        QuantizedWeight q = Gptq.quantize(w, D, N, gram, 8, 0);
        assertArrayEquals(q.values(), int8(initializer(e.model().getGraph(), "W_gptq8")));
        assertArrayEquals(q.scales(), floats(e.model().getGraph(), "W_gptq8_scale"));
        assertFalse(java.util.Arrays.equals(RtnQuantizer.quantize(w, D, N, 8, 0).values(), q.values()), "GPTQ, not RTN");

        FeatureWeightTransform rot = new FeatureWeightTransform(null, Hadamard.matrix(D));
        FeaturePlan rotated = new FeaturePlan(Optional.empty(), Optional.of(Rotation.HADAMARD), D, "");
        Emitted er = emit(LINEAR, new WeightPlan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.GPTQ4, 0, true, false, rotated, DROPS_W, ""),
                stats, ExternalWeights.NONE, Rotation.HADAMARD);
        QuantizedWeight qr = Gptq.quantize(rot.apply(w, D, N), D, N, rot.gram(gram, D), 4, 0);
        assertArrayEquals(qr.values(), int4(initializer(er.model().getGraph(), "W_rot_gptq4"), D * N));
    }

    @Test
    void anExternalWeightIsQuantizedStreamedIntoTheScratchFile() throws IOException {
        float[] w = floats(LINEAR.getGraph(), "W");
        ByteBuffer b = ByteBuffer.allocate(D * N * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : w) b.putFloat(v);
        Files.write(dir.resolve("w.bin"), b.array());
        TensorProto ext = TensorProto.newBuilder().setName("W").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(D).addDims(N)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL).addExternalData(kv("location", "w.bin")).build();
        OnnxMl.ModelProto model = LINEAR.toBuilder().setGraph(LINEAR.getGraph().toBuilder().clearInitializer().addInitializer(ext)).build();
        ExternalWeights external = ExternalWeights.of(dir, dir.resolve("scratch"));
        Emitted e = emit(model, new WeightPlan(WeightPlan.Form.DEQUANTIZE_LINEAR, WeightQuant.RTN8, 0, false, true, FeaturePlan.NONE, DROPS_W, ""),
                CalibrationStats.NONE, external, Rotation.NONE);
        assertEquals("W_dq = DequantizeLinear(W_rtn8, W_rtn8_scale)\ny = MatMul(x, W_dq)", dump(e.model()));
        QuantizedWeight q = RtnQuantizer.quantize(w, D, N, 8, 0);
        TensorProto values = initializer(e.model().getGraph(), "W_rtn8");
        assertEquals(TensorProto.DataLocation.EXTERNAL, values.getDataLocation());
        assertEquals(TensorProto.DataType.INT8_VALUE, values.getDataType());
        assertArrayEquals(q.values(), externalBytes(values));
        assertArrayEquals(q.scales(), floats(e.model().getGraph(), "W_rtn8_scale"));
        assertFalse(hasInitializer(e.model().getGraph(), "W"));
        external.finish();
    }

    private static OnnxMl.StringStringEntryProto kv(String k, String v) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static byte[] externalBytes(TensorProto t) throws IOException {
        Map<String, String> entries = new java.util.HashMap<>();
        for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) entries.put(e.getKey(), e.getValue());
        ByteBuffer buf = ByteBuffer.allocate(Integer.parseInt(entries.get("length")));
        try (FileChannel ch = FileChannel.open(Path.of(entries.get("location")), StandardOpenOption.READ)) {
            long offset = Long.parseLong(entries.get("offset"));
            while (buf.hasRemaining()) if (ch.read(buf, offset + buf.position()) < 0) throw new IOException("short scratch file");
        }
        return buf.array();
    }
}
