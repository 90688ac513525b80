package ai.stamp.tools.fuzz;

import ai.onnx.proto.OnnxMl;
import java.util.Random;

/** The byte- and structure-level mutations of {@link ModelFuzzer}. */
final class Mutations {
    private static final long[] ABSURD = {0, -1, 1L << 40, -7, Long.MAX_VALUE, 1L << 31};

    private Mutations() {}

    static byte[] bitFlip(byte[] base, Random r) {
        byte[] b = base.clone();
        int flips = 1 + r.nextInt(8);
        for (int i = 0; i < flips && b.length > 0; i++) b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
        return b;
    }

    static byte[] byteNoise(byte[] base, Random r) {
        byte[] b = base.clone();
        if (b.length == 0) return b;
        int start = r.nextInt(b.length);
        int len = Math.min(b.length - start, 1 + r.nextInt(16));
        for (int i = 0; i < len; i++) b[start + i] = (byte) r.nextInt(256);
        return b;
    }

    static byte[] splice(byte[] a, byte[] b, Random r) {
        int cutA = r.nextInt(a.length + 1);
        int cutB = r.nextInt(b.length + 1);
        byte[] out = new byte[cutA + (b.length - cutB)];
        System.arraycopy(a, 0, out, 0, cutA);
        System.arraycopy(b, cutB, out, cutA, b.length - cutB);
        return out;
    }

    static OnnxMl.ModelProto structural(ModelFuzzer.Kind kind, OnnxMl.ModelProto m, Random r) {
        OnnxMl.ModelProto.Builder b = m.toBuilder();
        OnnxMl.GraphProto.Builder g = b.getGraphBuilder();
        int nodes = g.getNodeCount();
        switch (kind) {
            case ABSURD_DIMS -> {
                long v = ABSURD[r.nextInt(ABSURD.length)];
                if (r.nextBoolean() && g.getInitializerCount() > 0) {
                    OnnxMl.TensorProto.Builder t = g.getInitializerBuilder(r.nextInt(g.getInitializerCount()));
                    if (t.getDimsCount() > 0) t.setDims(r.nextInt(t.getDimsCount()), v);
                    else t.addDims(v);
                } else if (g.getInputCount() > 0) {
                    OnnxMl.TypeProto.Tensor.Builder tt = g.getInputBuilder(r.nextInt(g.getInputCount())).getTypeBuilder().getTensorTypeBuilder();
                    OnnxMl.TensorShapeProto.Builder s = tt.getShapeBuilder();
                    if (s.getDimCount() > 0) s.setDim(r.nextInt(s.getDimCount()), OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(v));
                }
            }
            case DANGLING_INPUT -> {
                OnnxMl.NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                if (n.getInputCount() > 0) n.setInput(r.nextInt(n.getInputCount()), "dangling_" + r.nextInt(1000));
                else n.addInput("dangling");
            }
            case NODE_CYCLE -> {
                // an early node reads the output of a later one (or its own)
                int late = r.nextInt(nodes);
                int early = r.nextInt(late + 1);
                OnnxMl.NodeProto.Builder n = g.getNodeBuilder(early);
                String out = g.getNode(late).getOutputCount() > 0 ? g.getNode(late).getOutput(0) : "x";
                if (n.getInputCount() > 0) n.setInput(r.nextInt(n.getInputCount()), out);
                else n.addInput(out);
            }
            case DUPLICATE_OUTPUT -> {
                int a = r.nextInt(nodes), c = r.nextInt(nodes);
                if (g.getNode(a).getOutputCount() > 0 && g.getNode(c).getOutputCount() > 0) {
                    g.getNodeBuilder(c).setOutput(0, g.getNode(a).getOutput(0));
                }
                if (r.nextBoolean() && g.getOutputCount() > 0) g.addOutput(g.getOutput(0));
            }
            case WRONG_ATTRIBUTE_TYPE -> {
                OnnxMl.NodeProto.Builder n = g.getNodeBuilder(r.nextInt(nodes));
                OnnxMl.AttributeProto.Builder a;
                if (n.getAttributeCount() > 0 && r.nextInt(3) > 0) {
                    a = n.getAttributeBuilder(r.nextInt(n.getAttributeCount()));
                } else {
                    String[] names = {"transB", "alpha", "perm", "axis", "to", "block_size", "then_branch"};
                    a = n.addAttributeBuilder().setName(names[r.nextInt(names.length)]);
                }
                OnnxMl.AttributeProto.Builder fresh = OnnxMl.AttributeProto.newBuilder().setName(a.getName());
                switch (r.nextInt(6)) {
                    case 0 -> fresh.setType(OnnxMl.AttributeProto.AttributeType.STRING).setS(com.google.protobuf.ByteString.copyFromUtf8("x"));
                    case 1 -> fresh.setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(Float.NaN);
                    case 2 -> fresh.setType(OnnxMl.AttributeProto.AttributeType.INTS).addInts(5).addInts(-9);
                    case 3 -> fresh.setType(OnnxMl.AttributeProto.AttributeType.INT).setI(Long.MIN_VALUE);
                    case 4 -> fresh.setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(OnnxMl.GraphProto.newBuilder().setName("empty"));
                    default -> fresh.setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(OnnxMl.TensorProto.newBuilder().setDataType(1).addDims(3));
                }
                a.clear().mergeFrom(fresh.build());
            }
            case DROP_INITIALIZER -> {
                if (g.getInitializerCount() > 0) g.removeInitializer(r.nextInt(g.getInitializerCount()));
            }
            case ODD_VERSION -> {
                switch (r.nextInt(4)) {
                    case 0 -> b.setIrVersion(new long[] {0, 3, 11, 99, -1}[r.nextInt(5)]);
                    case 1 -> b.setOpsetImport(0, b.getOpsetImport(0).toBuilder().setVersion(new long[] {1, 10, 22, 9999, -5}[r.nextInt(5)]));
                    case 2 -> b.clearOpsetImport();
                    default -> b.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("ai.stamp").setVersion(1));
                }
            }
            default -> { }
        }
        return b.build();
    }
}
