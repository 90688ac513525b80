package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A weight read by many MatMuls of one graph (the fuzz finding: 1,000 consumers of one 384² weight gave a 591 MB output)
 * is stored once per stored form, whatever the form: int8 for the integer GEMM, int8 + scales for the simulation, the
 * rotated float weight.
 */
class SharedWeightInOneGraphTest {
    private static final int D = 32, N = 24, CONSUMERS = 50;

    private static OnnxMl.ModelProto model() {
        Random rnd = new Random(4);
        OnnxMl.TensorProto.Builder w = OnnxMl.TensorProto.newBuilder().setName("W").setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).addDims(D).addDims(N);
        for (int i = 0; i < D * N; i++) w.addFloatData((float) rnd.nextGaussian() * 0.1f);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("shared").addInitializer(w)
                .addInput(value("x", "B", "S", D)).addOutput(value("y0", "B", "S", N));
        for (int i = 0; i < CONSUMERS; i++) {
            g.addNode(OnnxMl.NodeProto.newBuilder().setOpType("MatMul").setName("mm_" + i).addInput("x").addInput("W").addOutput("y" + i));
            if (i > 0) g.addOutput(value("y" + i, "B", "S", N));
        }
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
                .setGraph(g).build();
    }

    private static OnnxMl.ValueInfoProto value(String name, String b, String s, int d) {
        OnnxMl.TensorShapeProto shape = OnnxMl.TensorShapeProto.newBuilder()
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(b))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(s))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d)).build();
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    private static long weightInitializers(OnnxMl.ModelProto m) {
        return m.getGraph().getInitializerList().stream().filter(t -> t.getDimsCount() == 2 && t.getDims(0) * t.getDims(1) == (long) D * N).count();
    }

    @Test
    void everyStoredFormIsStoredOnceForAllItsReaders() {
        for (StampConfig config : List.of(StampConfig.defaults(), StampConfig.builder().emit(StampConfig.Emit.SIMULATE).build(),
                StampConfig.builder().rotation(StampConfig.Rotation.HADAMARD).weights(StampConfig.WeightQuant.NONE).build())) {
            StampResult r = StampCompiler.compile(model(), config);
            assertEquals(CONSUMERS, r.report().rewritten().size(), config.toString());
            assertEquals(1, weightInitializers(r.model()), config + ": one stored weight for " + CONSUMERS + " readers");
            assertTrue(r.model().getGraph().getInitializerList().stream().noneMatch(t -> t.getName().equals("W")), "the float original goes");
        }
    }
}
