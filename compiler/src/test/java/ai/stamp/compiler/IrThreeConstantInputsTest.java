package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A PyTorch-exported IR-3 Linear lists its weight among the graph inputs, as IR < 4 requires of every initializer:
 * there it is a constant. The rewritten model is IR 8, where such an input would be an override a caller could feed
 * (and, with the original weight unused, feeding it would be silently ignored): the output lists no initializer as an
 * input, and the float original is gone.
 */
class IrThreeConstantInputsTest {
    private static OnnxMl.ModelProto irThreeLinear() {
        Random rnd = new Random(2);
        OnnxMl.TensorProto.Builder w = OnnxMl.TensorProto.newBuilder().setName("weight").setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                .addDims(16).addDims(8);
        for (int i = 0; i < 128; i++) w.addFloatData((float) rnd.nextGaussian());
        OnnxMl.TensorShapeProto.Builder xs = OnnxMl.TensorShapeProto.newBuilder()
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("B"))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("S"))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(16));
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("linear").addInitializer(w)
                .addInput(info("x", xs.build())).addInput(info("weight", OnnxMl.TensorShapeProto.newBuilder()
                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(16))
                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(8)).build()))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("MatMul").setName("fc").addInput("x").addInput("weight").addOutput("y"))
                .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("y").setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                        OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE))))
                .build();
        return OnnxMl.ModelProto.newBuilder().setIrVersion(3).addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(11))
                .setGraph(g).build();
    }

    private static OnnxMl.ValueInfoProto info(String name, OnnxMl.TensorShapeProto shape) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    @Test
    void theRewrittenModelListsNoInitializerAsAnInputAndDropsTheFloatOriginal() {
        StampResult r = StampCompiler.compile(irThreeLinear(), StampConfig.builder().weights(StampConfig.WeightQuant.RTN8).build());
        assertEquals(1, r.report().rewritten().size(), "under IR 3 an initializer listed as an input is a constant: the layer is rewritten");
        OnnxMl.GraphProto g = r.model().getGraph();
        assertTrue(r.model().getIrVersion() >= 8);
        assertEquals(List.of("x"), g.getInputList().stream().map(OnnxMl.ValueInfoProto::getName).toList());
        assertTrue(g.getInitializerList().stream().noneMatch(t -> t.getName().equals("weight")), "the unused float original is removed");
    }
}
