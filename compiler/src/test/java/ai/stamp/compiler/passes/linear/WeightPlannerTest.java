package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.layer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.StampConfig.Rotation;
import ai.stamp.compiler.StampConfig.WeightQuant;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.config.WeightQuantization;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.quant.WeightStorage;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** WeightPlanner on its own: the method, the storage form per opset, streaming, and whether the original is dropped. */
class WeightPlannerTest {
    private static final int D = 32;
    private static final int N = 8;

    @TempDir Path dir;

    /** x [batch, seq, D] -> MatMul 'proj' (W [D, N]) -> y; {@code extra} may add readers, inputs or outputs. */
    private static OnnxMl.ModelProto linear(Consumer<GraphBuilder> extra) {
        GraphBuilder g = new GraphBuilder(4);
        g.input("x", "batch", "seq", D);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, D, N)), List.of("y"));
        g.output("y", "batch", "seq", N);
        extra.accept(g);
        return g.model(13, 8);
    }

    private static final LinearLayer PROJ = layer(linear(g -> {}), "proj");

    private static WeightPlanner planner(WeightQuant w, int block, int opset) {
        return planner(w, block, opset, CalibrationStats.NONE, ExternalWeights.NONE);
    }

    private static WeightPlanner planner(WeightQuant w, int block, int opset, CalibrationStats stats, ExternalWeights external) {
        return new WeightPlanner(new WeightQuantization(w, block), new WeightStorage(opset), stats, external);
    }

    private static final FeaturePlan ROTATED = new FeaturePlan(Optional.empty(), Optional.of(Rotation.HADAMARD), D, "rotate hadamard D=" + D);

    @Test
    void nothingToDoLeavesTheWeightUnchanged() {
        WeightPlan p = planner(WeightQuant.NONE, 0, 13).plan(PROJ, FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.UNCHANGED, p.form());
        assertEquals(WeightQuant.NONE, p.method());
        assertFalse(p.original().removed());
        assertEquals("", p.detail());
    }

    @Test
    void featureTransformsAloneMakeANewFloatWeight() {
        WeightPlan p = planner(WeightQuant.NONE, 0, 13).plan(PROJ, ROTATED, false);
        assertEquals(WeightPlan.Form.FLOAT, p.form());
        assertSame(ROTATED, p.features());
        assertTrue(p.original().removed());
        assertEquals("weight Rᵀ·W as a new float initializer", p.detail());
        SmoothingPlanner.Decision d = new SmoothingPlanner.Decision("x", new float[D], List.of(PROJ.node()), Optional.empty(), "test", 0.5);
        FeaturePlan both = new FeaturePlan(Optional.of(d), Optional.of(Rotation.HADAMARD), D, "");
        assertEquals("weight Rᵀ·diag(s)·W as a new float initializer", planner(WeightQuant.NONE, 0, 13).plan(PROJ, both, false).detail());
    }

    private record Form(WeightPlan.Form form, boolean int4, String detail) {}

    private static Form form(WeightQuant w, int block, int opset) {
        WeightPlan p = planner(w, block, opset).plan(PROJ, FeaturePlan.NONE, false);
        assertEquals(w, p.method());
        assertEquals(block, p.block());
        assertFalse(p.streamed());
        assertTrue(p.original().removed());
        return new Form(p.form(), p.int4(), p.detail());
    }

    @Test
    void anIntegerProductStoresTheInt8ValuesAtEveryOpset() {
        for (int opset : new int[] {11, 13, 21}) {
            WeightPlan p = planner(WeightQuant.RTN8, 0, opset).plan(PROJ, FeaturePlan.NONE, true);
            assertEquals(WeightPlan.Form.INTEGER, p.form(), "opset " + opset);
            assertEquals("W8 rtn per-channel as int8 for MatMulInteger", p.detail());
        }
        // blocked scales cannot be applied after an integer GEMM: the float product keeps them
        assertEquals(WeightPlan.Form.DEQUANTIZE_LINEAR, planner(WeightQuant.RTN8, 16, 21).plan(PROJ, FeaturePlan.NONE, true).form());
    }

    @Test
    void storageFormFollowsTheOpset() {
        WeightPlan.Form dq = WeightPlan.Form.DEQUANTIZE_LINEAR, pre = WeightPlan.Form.PRE_DEQUANTIZED, castMul = WeightPlan.Form.CAST_MUL;
        // per channel int8: DequantizeLinear with axis from 13
        // below 13: the int8 values with Cast + Mul by the per-channel scales
        assertEquals(new Form(castMul, false, "W8 rtn per-channel as Cast+Mul(int8; opset 12 has no per-axis DequantizeLinear)"), form(WeightQuant.RTN8, 0, 12));
        assertEquals(new Form(dq, false, "W8 rtn per-channel as DequantizeLinear(int8)"), form(WeightQuant.RTN8, 0, 13));
        // 4 bits: stored in int8 until INT4 exists (21)
        assertEquals(new Form(castMul, false, "W4 rtn per-channel as Cast+Mul(int8, 4-bit values; opset 12 has no per-axis DequantizeLinear)"), form(WeightQuant.RTN4, 0, 12));
        assertEquals(new Form(dq, false, "W4 rtn per-channel as DequantizeLinear(int8; opset 13 has no int4)"), form(WeightQuant.RTN4, 0, 13));
        assertEquals(new Form(dq, false, "W4 rtn per-channel as DequantizeLinear(int8; opset 20 has no int4)"), form(WeightQuant.RTN4, 0, 20));
        assertEquals(new Form(dq, true, "W4 rtn per-channel as DequantizeLinear(int4)"), form(WeightQuant.RTN4, 0, 21));
        // blocked scales need 21
        assertEquals(new Form(pre, false, "W8 rtn block=16 as pre-dequantized float (opset 20 has no blocked DequantizeLinear)"), form(WeightQuant.RTN8, 16, 20));
        assertEquals(new Form(pre, false, "W4 rtn block=16 as pre-dequantized float (opset 13 has no blocked DequantizeLinear)"), form(WeightQuant.RTN4, 16, 13));
        assertEquals(new Form(dq, false, "W8 rtn block=16 as DequantizeLinear(int8)"), form(WeightQuant.RTN8, 16, 21));
        assertEquals(new Form(dq, true, "W4 rtn block=16 as DequantizeLinear(int4)"), form(WeightQuant.RTN4, 16, 21));
    }

    @Test
    void theOriginalIsDroppedOnlyWhenThisLayerIsItsSoleReader() {
        String kept = "; original 'W' kept (read elsewhere)";
        // another node reads W
        LinearLayer shared = layer(linear(g -> {
            g.node("MatMul", "again", List.of("x", "W"), List.of("y2"));
            g.output("y2", "batch", "seq", N);
        }), "proj");
        // W is a graph output
        LinearLayer output = layer(linear(g -> g.output("W", D, N)), "proj");
        // W is a graph input too (the rule refuses that above IR 3; the planner keeps the input's default)
        LinearLayer input = layer(linear(g -> g.input("W", D, N)), "proj");
        // W is read inside the body of an If as well (an implicit input of the If node)
        LinearLayer implicit = layer(linear(g -> {
            GraphBuilder body = new GraphBuilder(0);
            body.node("MatMul", "inner", List.of("x", "W"), List.of("b_y"));
            body.output("b_y", "batch", "seq", N);
            g.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond").setType(OnnxMl.TypeProto.newBuilder()
                    .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.BOOL_VALUE))));
            g.node("If", "branch", List.of("cond"), List.of("y3"), GraphBuilder.graphAttr("then_branch", body.graph().setName("t").build()),
                    GraphBuilder.graphAttr("else_branch", body.graph().setName("e").build()));
            g.output("y3", "batch", "seq", N);
        }), "proj");
        for (LinearLayer l : List.of(shared, output, input, implicit)) {
            WeightPlan p = planner(WeightQuant.RTN8, 0, 13).plan(l, FeaturePlan.NONE, false);
            assertFalse(p.original().removed(), p.detail());
            assertEquals("W8 rtn per-channel as DequantizeLinear(int8)" + kept, p.detail());
            WeightPlan f = planner(WeightQuant.NONE, 0, 13).plan(l, ROTATED, false);
            assertFalse(f.original().removed());
            assertEquals("weight Rᵀ·W as a new float initializer" + kept, f.detail());
        }
    }

    @Test
    void aFoldedChainGoesWithItsSourcesWhenNothingElseReadsThem() {
        // W = Reshape(Transpose(W0 [N, D]), shape [D, N])
        Consumer<GraphBuilder> chain = g -> {
            String t = g.node("Transpose", "wt", List.of(g.weight("W0", 0.5f, N, D)), List.of("W0t"), GraphBuilder.intsAttr("perm", 1, 0));
            g.node("Reshape", "wr", List.of(t, g.ints("shape", D, N)), List.of("Wc"));
        };
        Consumer<GraphBuilder> matmul = g -> {
            g.input("x", "batch", "seq", D);
            g.node("MatMul", "proj", List.of("x", "Wc"), List.of("y"));
            g.output("y", "batch", "seq", N);
        };
        GraphBuilder alone = new GraphBuilder(4);
        chain.andThen(matmul).accept(alone);
        WeightPlan p = planner(WeightQuant.RTN8, 0, 13).plan(layer(alone.model(13, 8), "proj"), FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.DEQUANTIZE_LINEAR, p.form());
        assertEquals("W8 rtn per-channel as DequantizeLinear(int8)", p.detail());
        assertEquals(List.of("wt", "wr"), p.original().nodes().stream().map(OnnxMl.NodeProto::getName).toList());
        assertEquals(List.of("shape", "W0"), p.original().initializers());
        assertTrue(p.original().removed());
        // the shape is read by another Reshape too: it stays, and the weight still goes
        GraphBuilder sharedShape = new GraphBuilder(4);
        chain.andThen(matmul).andThen(g -> {
            g.node("Reshape", "again", List.of("y", "shape"), List.of("y2"));
            g.output("y2");
        }).accept(sharedShape);
        WeightPlan s = planner(WeightQuant.RTN8, 0, 13).plan(layer(sharedShape.model(13, 8), "proj"), FeaturePlan.NONE, false);
        assertEquals(List.of("W0"), s.original().initializers());
        assertTrue(s.original().removed());
        assertEquals("W8 rtn per-channel as DequantizeLinear(int8)", s.detail());
        // the Transpose's output is a graph output: only the Reshape and its shape go
        GraphBuilder sharedT = new GraphBuilder(4);
        chain.andThen(matmul).andThen(g -> g.output("W0t")).accept(sharedT);
        WeightPlan t = planner(WeightQuant.RTN8, 0, 13).plan(layer(sharedT.model(13, 8), "proj"), FeaturePlan.NONE, false);
        assertEquals(List.of("wr"), t.original().nodes().stream().map(OnnxMl.NodeProto::getName).toList());
        assertEquals(List.of("shape"), t.original().initializers());
        assertFalse(t.original().removed());
        assertEquals("W8 rtn per-channel as DequantizeLinear(int8); original 'W0t' kept (read elsewhere)", t.detail());
    }

    @Test
    void anOuterScopeWeightIsKept() {
        OnnxMl.ModelProto model = TinyGraphs.linearInsideIf(13, 8, 2);
        LayerMatches m = LinearFixtures.matches(model);
        LinearLayer inThen = layer(m, m.graphs().get(1), "then_linear");
        WeightPlan p = planner(WeightQuant.RTN8, 0, 13).plan(inThen, FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.DEQUANTIZE_LINEAR, p.form());
        assertFalse(p.original().removed());
        assertEquals("W8 rtn per-channel as DequantizeLinear(int8); original 'W_outer' kept (outer-scope initializer)", p.detail());
    }

    @Test
    void aWeightThatIsNoPlainFloatInitializerIsLeftAsItIs() {
        GraphBuilder g = new GraphBuilder(4);
        g.input("x", "batch", "seq", D);
        g.node("Cast", "wt", List.of(g.int32Weight("W0", 3, D, N)), List.of("Wt"), GraphBuilder.intAttr("to", TensorProto.DataType.FLOAT_VALUE));
        g.node("MatMul", "proj", List.of("x", "Wt"), List.of("y"));
        g.graph().addInitializer(TensorProto.newBuilder().setName("Wh").setDataType(TensorProto.DataType.FLOAT16_VALUE).addDims(D).addDims(N)
                .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[2 * D * N])));
        g.node("MatMul", "half", List.of("x", "Wh"), List.of("z"));
        g.output("y", "batch", "seq", N);
        g.output("z", "batch", "seq", N);
        LayerMatches m = LinearFixtures.matches(g.model(13, 8));
        WeightPlan computed = planner(WeightQuant.RTN8, 0, 13).plan(layer(m, "proj"), FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.UNCHANGED, computed.form());
        assertEquals("W8 rtn per-channel skipped: weight 'Wt' is computed from 'W0', which holds int32 values, not floating point (weight left as it is)",
                computed.detail());
        // a float16 weight is a float16 layer's: quantized from its own values, dequantized at float32 and cast back
        WeightPlan half = planner(WeightQuant.RTN4, 8, 21).plan(layer(m, "half"), FeaturePlan.NONE, false);
        assertEquals(ai.stamp.ops.FloatType.FLOAT16, layer(m, "half").type());
        assertEquals("W4 rtn block=8 as DequantizeLinear(int4)", half.detail());
        // no method: nothing to report (the feature planner reports the skipped transforms)
        WeightPlan none = planner(WeightQuant.NONE, 0, 13).plan(layer(m, "proj"), ROTATED, false);
        assertEquals(WeightPlan.Form.UNCHANGED, none.form());
        assertEquals("", none.detail());
    }

    private static CalibrationStats gram(int values) {
        double[] g = new double[values];
        for (int i = 0; i < D && (long) i * D + i < values; i++) g[i * D + i] = 1;
        return new CalibrationStats(Map.of("x", new ActivationStats("x", D, 10, new float[D], g, Map.of(), 0)), 1, 0);
    }

    @Test
    void gptqNeedsAGramMatrixOfTheRightSize() {
        CalibrationStats noGram = new CalibrationStats(Map.of("x", new ActivationStats("x", D, 10, new float[D], null, Map.of(), 0)), 1, 0);
        for (CalibrationStats stats : List.of(CalibrationStats.NONE, noGram)) {
            StampException e = assertThrows(StampException.class,
                    () -> planner(WeightQuant.GPTQ8, 0, 13, stats, ExternalWeights.NONE).plan(PROJ, FeaturePlan.NONE, false));
            assertEquals(StampException.Kind.BAD_OPTION, e.kind());
            assertEquals("--weights gptq8 needs the Gram matrix X^T X of the input 'x' of layer 'proj', but the calibration statistics have"
                    + " none for it: calibrate with Gram matrices collected, or use --weights rtn8", e.getMessage());
        }
        StampException size = assertThrows(StampException.class,
                () -> planner(WeightQuant.GPTQ4, 0, 13, gram(16), ExternalWeights.NONE).plan(PROJ, FeaturePlan.NONE, false));
        assertEquals(StampException.Kind.BAD_OPTION, size.kind());
        assertEquals("the calibration Gram matrix of 'x' (layer 'proj') has 16 values, the layer needs 32x32: recalibrate this model", size.getMessage());
        WeightPlan p = planner(WeightQuant.GPTQ4, 0, 21, gram(D * D), ExternalWeights.NONE).plan(PROJ, FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.DEQUANTIZE_LINEAR, p.form());
        assertEquals(WeightQuant.GPTQ4, p.method());
        assertTrue(p.int4());
        assertEquals("W4 gptq per-channel as DequantizeLinear(int4)", p.detail());
    }

    /** proj's W stored as external data in {@code dir}/w.bin at {@code offset}, its length entry {@code length}. */
    private LinearLayer external(long offset, long length, boolean writeFile) throws IOException {
        if (writeFile) {
            ByteBuffer b = ByteBuffer.allocate((int) offset + D * N * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.position((int) offset);
            for (int i = 0; i < D * N; i++) b.putFloat((i % 7) * 0.1f - 0.3f);
            Files.write(dir.resolve("w.bin"), b.array());
        }
        TensorProto ext = TensorProto.newBuilder().setName("W").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(D).addDims(N)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(kv("location", "w.bin")).addExternalData(kv("offset", Long.toString(offset)))
                .addExternalData(kv("length", Long.toString(length))).build();
        OnnxMl.ModelProto m = linear(g -> {});
        OnnxMl.GraphProto.Builder gb = m.getGraph().toBuilder().clearInitializer().addInitializer(ext);
        return layer(m.toBuilder().setGraph(gb).build(), "proj");
    }

    private static OnnxMl.StringStringEntryProto kv(String k, String v) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    @Test
    void externalWeightsAreStreamedForRtnAndRefusedForGptq() throws IOException {
        LinearLayer l = external(0, D * N * 4, true);
        ExternalWeights ext = ExternalWeights.of(dir, dir);
        WeightPlan rtn = planner(WeightQuant.RTN8, 0, 13, CalibrationStats.NONE, ext).plan(l, FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.DEQUANTIZE_LINEAR, rtn.form());
        assertTrue(rtn.streamed());
        assertTrue(rtn.original().removed());
        assertSame(FeaturePlan.NONE, rtn.features());
        assertEquals("W8 rtn per-channel as DequantizeLinear(int8) (streamed from external data)", rtn.detail());
        WeightPlan old = planner(WeightQuant.RTN4, 0, 11, CalibrationStats.NONE, ext).plan(l, FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.CAST_MUL, old.form());
        assertTrue(old.streamed());

        // GPTQ needs the whole weight: left alone (no Gram matrix asked for either)
        WeightPlan gptq = planner(WeightQuant.GPTQ8, 0, 13, CalibrationStats.NONE, ext).plan(l, FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.UNCHANGED, gptq.form());
        assertFalse(gptq.streamed());
        assertEquals("W8 gptq per-channel skipped: weight 'W' is stored as external data, which GPTQ does not support (it needs the whole"
                + " weight in memory); use --weights rtn8 (weight left as it is)", gptq.detail());

        // without external-data support, or with feature transforms to fold in, the weight is not read
        String unread = "W8 rtn per-channel skipped: weight 'W' is stored as external data (weight left as it is)";
        assertEquals(unread, planner(WeightQuant.RTN8, 0, 13).plan(l, FeaturePlan.NONE, false).detail());
        WeightPlan rotated = planner(WeightQuant.RTN8, 0, 13, CalibrationStats.NONE, ext).plan(l, ROTATED, false);
        assertEquals(WeightPlan.Form.UNCHANGED, rotated.form());
        assertEquals(unread, rotated.detail());
        ext.finish();
    }

    @Test
    void externalWeightsWhoseBytesAreWrongAreLeftAlone() throws IOException {
        ExternalWeights ext = ExternalWeights.of(dir, dir);
        WeightPlanner p = planner(WeightQuant.RTN8, 0, 13, CalibrationStats.NONE, ext);
        assertEquals("W8 rtn per-channel skipped: weight 'W' has external length 100, its shape says 1024 bytes (weight left as it is)",
                p.plan(external(0, 100, true), FeaturePlan.NONE, false).detail());
        external(0, D * N * 4, true);
        WeightPlan past = p.plan(external(64, D * N * 4, false), FeaturePlan.NONE, false);
        assertEquals(WeightPlan.Form.UNCHANGED, past.form());
        assertEquals("W8 rtn per-channel skipped: weight 'W' reaches past the end of " + dir.resolve("w.bin") + " (weight left as it is)", past.detail());
        Files.delete(dir.resolve("w.bin"));
        StampException missing = assertThrows(StampException.class, () -> p.plan(external(0, D * N * 4, false), FeaturePlan.NONE, false));
        assertEquals(StampException.Kind.EXTERNAL_DATA_MISSING, missing.kind());
    }
}
