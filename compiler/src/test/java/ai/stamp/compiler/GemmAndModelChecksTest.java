package ai.stamp.compiler;

import static ai.stamp.testmodels.GraphBuilder.floatAttr;
import static ai.stamp.testmodels.GraphBuilder.intAttr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Gemm layers, and the model-level checks done before anything is rewritten. */
class GemmAndModelChecksTest {
    private static OnnxMl.ModelProto gemm(long transA) {
        GraphBuilder g = new GraphBuilder(3);
        g.input("x", "seq", 6);
        g.node("Gemm", "fc", List.of("x", g.weight("W", 0.5f, 5, 6), g.weight("C", 0.5f, 5)), List.of("y"),
                intAttr("transA", transA), intAttr("transB", 1), floatAttr("alpha", 0.5f), floatAttr("beta", 2f));
        g.output("y", "seq", 5);
        return g.model(11, 7);
    }

    @Test
    void gemmBecomesMatMulWithAlphaAndBiasAfterTheInverse() {
        OnnxMl.ModelProto model = gemm(0);
        StampResult r = StampCompiler.compile(model, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build());
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                W_T = Transpose(W)
                y_coeffs = MatMul(x_stamp_coeffs, W_T)
                y_linear = ai.stamp.HaarSequenceInverse_l3_s1(y_coeffs, x)
                fc/stamp/const = Constant()
                y_alpha = Mul(y_linear, fc/stamp/const)
                fc/stamp/const_1 = Constant()
                C_beta = Mul(C, fc/stamp/const_1)
                y = Add(y_alpha, C_beta)""", GraphDump.of(r.model().getGraph()));
        for (long seq : new long[] {3, 16, 21}) {
            Map<String, Object> in = Map.of("x", Ort.random(seq, seq, 6));
            assertTrue(Ort.maxRelativeError(Ort.run(model, in).get("y"), Ort.run(r.model(), in).get("y")) < 1e-5);
        }
    }

    @Test
    void gemmWithTransposedActivationIsNotALinearLayerOverTokens() {
        StampResult r = StampCompiler.compile(gemm(1), StampConfig.defaults());
        assertTrue(r.report().rewritten().isEmpty());
        assertTrue(r.report().skipped().get(0).reason().contains("transA=1"));
    }

    @Test
    void refusesOpsetsWithoutTheOpsTheBodiesNeed() {
        OnnxMl.ModelProto old = TinyGraphs.encoderBlock(10, 8, 1);
        StampException e = assertThrows(StampException.class, () -> StampCompiler.compile(old, StampConfig.defaults()));
        assertEquals(StampException.Kind.UNSUPPORTED_MODEL, e.kind());
        assertTrue(e.getMessage().contains("opset 10"), e.getMessage());
    }

    @Test
    void refusesAModelItAlreadyRewrote() {
        OnnxMl.ModelProto once = StampCompiler.compile(TinyGraphs.encoderBlock(11, 8, 1), StampConfig.defaults()).model();
        StampException e = assertThrows(StampException.class, () -> StampCompiler.compile(once, StampConfig.defaults()));
        assertEquals(StampException.Kind.ALREADY_REWRITTEN, e.kind());
    }

    @Test
    void keepsWhatThePassDoesNotTouch() {
        OnnxMl.ModelProto model = TinyGraphs.encoderBlock(13, 8, 1).toBuilder().setDocString("my model").setProducerName("me")
                .addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey("author").setValue("someone"))
                .addFunctions(OnnxMl.FunctionProto.newBuilder().setName("MyFn").setDomain("custom"))
                .setGraph(TinyGraphs.encoderBlock(13, 8, 1).getGraph().toBuilder()
                        .addValueInfo(OnnxMl.ValueInfoProto.newBuilder().setName("relu_out").setDocString("kept")))
                .build();
        StampConfig floatWeights = StampConfig.builder().weights(StampConfig.WeightQuant.NONE).build();
        for (StampConfig config : List.of(StampConfig.defaults(), floatWeights)) {
            OnnxMl.ModelProto out = StampCompiler.compile(model, config).model();
            assertEquals("my model", out.getDocString());
            assertEquals("me", out.getProducerName());
            assertTrue(out.getMetadataPropsList().stream().anyMatch(p -> p.getKey().equals("author") && p.getValue().equals("someone")));
            assertEquals("MyFn", out.getFunctions(0).getName());
            assertEquals(model.getGraph().getValueInfoList(), out.getGraph().getValueInfoList());
            assertEquals(13, OpsetCheck.defaultOpset(out));
            if (config == floatWeights) {
                assertEquals(model.getGraph().getInitializerList(), out.getGraph().getInitializerList());
                continue;
            }
            // the defaults replace each rewritten layer's float weight by its int8 form; every other initializer is kept as it was
            List<String> quantized = List.of("Wq", "Wk", "Wv", "Wo", "W1", "W2");
            assertEquals(model.getGraph().getInitializerList().stream().filter(t -> !quantized.contains(t.getName())).toList(),
                    out.getGraph().getInitializerList().stream().filter(t -> !t.getName().contains("_rtn8")).toList());
            for (String w : quantized) {
                assertEquals(1, out.getGraph().getInitializerList().stream()
                        .filter(t -> t.getName().equals(w + "_rtn8") && t.getDataType() == OnnxMl.TensorProto.DataType.INT8_VALUE).count(), w);
            }
        }
    }

    @Test
    void aModelWithNoLinearLayerIsLeftAsItWas() {
        GraphBuilder g = new GraphBuilder(1);
        g.input("a", 4, 4);
        g.input("b", 4, 4);
        g.node("MatMul", "mm", List.of("a", "b"), List.of("c"));
        g.output("c", 4, 4);
        OnnxMl.ModelProto model = g.model(11, 6);
        StampResult r = StampCompiler.compile(model, StampConfig.defaults());
        assertEquals(model, r.model());
        assertEquals(1, r.report().skipped().size());
    }
}
