package ai.stamp.compiler.ir;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampException;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.MergedDecoders;
import ai.stamp.testmodels.QuantizedGraphs;
import ai.stamp.testmodels.RealModels;
import ai.stamp.testmodels.TinyGraphs;
import ai.stamp.testmodels.TypedGraphs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Before/after: a valid graph passes {@link GraphValidation}, and each defect ONNX Runtime refuses a model for (the
 * kinds fuzzing found rewritten with exit 0) is refused with exit 6 and a message naming the node and the defect — and
 * ORT rejects the same mutated model, so the check refuses nothing ORT would load.
 */
class GraphValidationTest {
    private static final ModelProto BLOCK = TinyGraphs.encoderBlock(13, 8, 1);

    private static ModelProto withNode(ModelProto m, String name, UnaryOperator<OnnxMl.NodeProto.Builder> change) {
        ModelProto.Builder b = m.toBuilder();
        OnnxMl.GraphProto.Builder g = b.getGraphBuilder();
        for (int i = 0; i < g.getNodeCount(); i++) if (g.getNode(i).getName().equals(name)) g.setNode(i, change.apply(g.getNode(i).toBuilder()));
        return b.build();
    }

    private static String refused(ModelProto m) {
        StampException e = assertThrows(StampException.class, () -> GraphValidation.requireValid(m, "model"));
        assertEquals(StampException.Kind.UNSUPPORTED_MODEL, e.kind());
        assertTrue(e.getMessage().startsWith("model is not a valid ONNX graph: "), e.getMessage());
        assertTrue(ortRejects(m), "ORT loads the model the check refuses: " + e.getMessage());
        return e.getMessage();
    }

    private static boolean ortRejects(ModelProto m) {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OrtSession s = OrtEnvironment.getEnvironment().createSession(m.toByteArray(), o)) {
            return false;
        } catch (OrtException e) {
            return true;
        }
    }

    private static void assertRefused(ModelProto m, String fragment) {
        String message = refused(m);
        assertTrue(message.contains(fragment), "'" + fragment + "' in " + message);
    }

    @Test
    void validGraphsOfEveryKindTheTestsBuildPass() {
        for (int opset : new int[] {11, 13, 17, 21}) assertDoesNotThrow(() -> GraphValidation.requireValid(TinyGraphs.encoderBlock(opset, 8, opset), "m"));
        List<ModelProto> others = List.of(TinyGraphs.vitLike(13, 2, 2, 8, 3), TinyGraphs.linearInsideIf(13, 8, 4), QuantizedGraphs.qdq(13),
                QuantizedGraphs.dynamic(13), QuantizedGraphs.nbitsDecoder(21),
                TypedGraphs.matMul(OnnxMl.TensorProto.DataType.DOUBLE_VALUE, 13, 8, 4, 1),
                TypedGraphs.gemm(OnnxMl.TensorProto.DataType.FLOAT16_VALUE, 13, 8, 4, 1));
        for (ModelProto m : others) assertDoesNotThrow(() -> GraphValidation.requireValid(m, "m"));
    }

    @Test
    void realModelsPass() throws Exception {
        for (Path p : List.of(RealModels.miniLm(), RealModels.miniLmQuantized(), RealModels.ppOcrV4Rec(), RealModels.stories260K(),
                RealModels.stories260KFp16())) {
            ModelProto m = ModelProto.parseFrom(Files.readAllBytes(p));
            assertDoesNotThrow(() -> GraphValidation.requireValid(m, p.getFileName().toString()));
        }
        ModelProto merged = MergedDecoders.merged(ModelProto.parseFrom(Files.readAllBytes(RealModels.stories260K())));
        assertDoesNotThrow(() -> GraphValidation.requireValid(merged, "merged stories260K"));
    }

    @Test
    void anOpTheDefaultDomainDoesNotDefine() {
        assertRefused(withNode(BLOCK, "softmax", n -> n.setOpType("Softmux")),
                "node 'softmax' uses op 'Softmux', which the default ONNX domain does not define");
    }

    @Test
    void onnxRuntimesOwnDefaultDomainOpsPass() {
        // LayerNormalization before opset 17 is ORT's own schema (its contrib op of the default domain): ORT loads it
        ModelProto vit = TinyGraphs.vitLike(13, 2, 2, 8, 3);
        assertTrue(vit.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("LayerNormalization")));
        assertFalse(ortRejects(vit));
        assertDoesNotThrow(() -> GraphValidation.requireValid(vit, "m"));
    }

    @Test
    void anOpNewerThanTheModelsOpset() {
        ModelProto m = TinyGraphs.encoderBlock(11, 8, 1);
        assertRefused(withNode(m, "relu", n -> n.setOpType("Gelu")), "node 'relu' uses op 'Gelu', which the default ONNX domain defines only after opset 11");
    }

    @Test
    void theWrongNumberOfInputs() {
        assertRefused(withNode(BLOCK, "q", n -> n.addInput("x")), "node 'q' (MatMul-13) has 3 inputs, the op takes 2");
    }

    @Test
    void aMatMulWhoseDeclaredInnerDimensionsDiffer() {
        ModelProto.Builder b = BLOCK.toBuilder();
        b.getGraphBuilder().getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(2).setDimValue(9);
        assertRefused(b.build(), "MatMul 'q' multiplies 'x' (last dimension 9) by 'Wq' [8, 8]: the inner dimensions differ");
    }

    @Test
    void aNegativeDeclaredDimensionIsUnknownNotAMismatch() {
        // found by the fuzzer: ORT reads dim_value -1 as unknown and loads the model
        ModelProto.Builder b = BLOCK.toBuilder();
        b.getGraphBuilder().getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(2).setDimValue(-1);
        assertFalse(ortRejects(b.build()));
        assertDoesNotThrow(() -> GraphValidation.requireValid(b.build(), "m"));
    }

    @Test
    void anIfWhoseBranchesGiveDifferentCountsOfOutputs() {
        ModelProto.Builder b = TinyGraphs.linearInsideIf(13, 8, 4).toBuilder();
        OnnxMl.NodeProto.Builder ifNode = b.getGraphBuilder().getNodeBuilder(0);
        for (OnnxMl.AttributeProto.Builder a : ifNode.getAttributeBuilderList()) {
            if (a.getName().equals("else_branch")) a.getGBuilder().addOutput(a.getG().getOutput(0).toBuilder().setName("x"));
        }
        assertRefused(b.build(), "If 'if' has 1 outputs, its then_branch 1 and its else_branch 2 (they need one count)");
    }

    @Test
    void anAttributeTheOpDoesNotDefine() {
        assertRefused(withNode(BLOCK, "softmax", n -> n.addAttribute(GraphBuilder.intsAttr("axes", 1))),
                "node 'softmax' (Softmax-13) has attribute 'axes', which the op does not define");
    }

    @Test
    void anAttributeOfTheWrongType() {
        assertRefused(withNode(BLOCK, "softmax", n -> n.setAttribute(0, GraphBuilder.floatAttr("axis", -1))),
                "node 'softmax' (Softmax-13) gives attribute 'axis' as FLOAT, the op takes INT");
    }

    /** x [2, 3] (float, or int64) → one {@code op} node → y [2, 3] of x's type, at opset 13. */
    private static ModelProto oneNode(String op, boolean int64) {
        GraphBuilder g = new GraphBuilder(1);
        if (int64) g.intInput("x", 2, 3);
        else g.input("x", 2, 3);
        g.node(op, op.toLowerCase(java.util.Locale.ROOT), List.of("x"), List.of("y"));
        g.output("y", 2, 3);
        ModelProto.Builder b = g.model(13, 8).toBuilder();
        if (int64) b.getGraphBuilder().getOutputBuilder(0).getTypeBuilder().getTensorTypeBuilder().setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE);
        return b.build();
    }

    /** {@code t} as a float64 tensor of the same name and dims. */
    private static OnnxMl.TensorProto asDouble(OnnxMl.TensorProto t) {
        OnnxMl.TensorProto.Builder d = OnnxMl.TensorProto.newBuilder().setName(t.getName()).addAllDims(t.getDimsList())
                .setDataType(OnnxMl.TensorProto.DataType.DOUBLE_VALUE);
        for (float v : Tensors.floats(t)) d.addDoubleData(v);
        return d.build();
    }

    @Test
    void aRequiredAttributeMissing() {
        assertRefused(oneNode("Cast", false), "node 'cast' (Cast-13) lacks the required attribute 'to'");
    }

    @Test
    void aTypeParameterBoundToTwoTypes() {
        ModelProto.Builder b = BLOCK.toBuilder();
        OnnxMl.GraphProto.Builder g = b.getGraphBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) if (g.getInitializer(i).getName().equals("bq")) g.setInitializer(i, asDouble(g.getInitializer(i)));
        assertRefused(b.build(), "node 'q_bias' (Add) binds its type parameter T to tensor(float) and to tensor(double) ('bq')");
    }

    @Test
    void aTypeTheOpDoesNotAllow() {
        assertRefused(oneNode("Softmax", true), "node 'softmax' (Softmax) reads 'x', a tensor(int64), which its type parameter T does not allow");
    }

    @Test
    void aDeclaredTypeTheOpDoesNotMake() {
        ModelProto.Builder b = BLOCK.toBuilder();
        b.getGraphBuilder().addValueInfo(OnnxMl.ValueInfoProto.newBuilder().setName("relu_out").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.INT32_VALUE))));
        assertRefused(b.build(), "node 'relu' (Relu) makes 'relu_out' a tensor(float), and the graph declares it tensor(int32)");
    }

    @Test
    void aGraphInputWithoutAType() {
        ModelProto.Builder b = BLOCK.toBuilder();
        b.getGraphBuilder().getInputBuilder(0).clearType();
        assertRefused(b.build(), "graph input 'x' has no type");
    }

    @Test
    void typesOfTheEnclosingGraphReachAnIfBody() {
        ModelProto.Builder b = TinyGraphs.linearInsideIf(13, 8, 4).toBuilder();
        OnnxMl.GraphProto.Builder g = b.getGraphBuilder();
        g.setInitializer(0, asDouble(g.getInitializer(0)));
        String message = refused(b.build());
        assertTrue(message.contains("node 'then_linear' (MatMul) binds its type parameter T to tensor(float) and to tensor(double) ('W_outer')"), message);
        assertTrue(message.contains("(in the then_branch of 'if')"), message);
    }

    @Test
    void whatAConstantNodeReadsDoesNotMatterAsOnnxRuntimeMakesItAnInitializerFirst() {
        // found by the fuzzer on PP-OCRv4: a Constant given an input (undefined, or its own output) still loads in ORT
        GraphBuilder g = new GraphBuilder(1);
        g.input("x", 2, 3);
        g.node("Constant", "c", List.of("c_out"), List.of("c_out"), OnnxMl.AttributeProto.newBuilder().setName("value")
                .setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(ai.stamp.compiler.ir.Tensors.floatTensor(new float[] {2}, 1)).build());
        g.node("Mul", "m", List.of("x", "c_out"), List.of("y"));
        g.output("y", 2, 3);
        ModelProto m = g.model(13, 8);
        assertFalse(ortRejects(m));
        assertDoesNotThrow(() -> GraphValidation.requireValid(m, "m"));
        // nor do its other attributes, or a type the graph declares for it (found on MiniLM and PP-OCRv4): ORT loads both
        ModelProto extraAttribute = withNode(m, "c", n -> n.addAttribute(GraphBuilder.intsAttr("perm", 1, 0)));
        assertFalse(ortRejects(extraAttribute));
        assertDoesNotThrow(() -> GraphValidation.requireValid(extraAttribute, "m"));
        ModelProto.Builder declared = m.toBuilder();
        declared.getGraphBuilder().addValueInfo(OnnxMl.ValueInfoProto.newBuilder().setName("c_out").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE))));
        assertFalse(ortRejects(declared.build()));
        assertDoesNotThrow(() -> GraphValidation.requireValid(declared.build(), "m"));
    }
}
