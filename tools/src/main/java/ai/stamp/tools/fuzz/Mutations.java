package ai.stamp.tools.fuzz;

import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.List;
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
            case ABSURD_SHAPE_HINT -> {
                // a value_info claiming a 1-D shape tensor of 2^31 - 1 elements (ORT ignores it)
                OnnxMl.NodeProto n = g.getNode(r.nextInt(nodes));
                if (n.getOutputCount() > 0) {
                    g.addValueInfo(OnnxMl.ValueInfoProto.newBuilder().setName(n.getOutput(0)).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                            OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE).setShape(
                                    OnnxMl.TensorShapeProto.newBuilder().addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(Integer.MAX_VALUE))))));
                }
            }
            case NON_FINITE_WEIGHT, HUGE_WEIGHT -> {
                int i = floatInitializer(g, r);
                if (i >= 0) {
                    float v = kind == ModelFuzzer.Kind.HUGE_WEIGHT ? 2.7e37f : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}[r.nextInt(3)];
                    g.setInitializer(i, setValue(g.getInitializer(i), r, v));
                }
            }
            case DUPLICATE_OPSET -> b.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(22));
            case INTEGER_WEIGHT -> {
                int i = floatInitializer(g, r);
                if (i >= 0) g.setInitializer(i, g.getInitializer(i).toBuilder().setDataType(OnnxMl.TensorProto.DataType.INT32_VALUE));
            }
            case SHARED_WEIGHT -> {
                // a MatMul/Gemm copied many times, every copy reading the same weight (dead outputs)
                for (int k = 0; k < nodes; k++) {
                    OnnxMl.NodeProto n = g.getNode(k);
                    if ((n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")) && n.getOutputCount() > 0) {
                        int copies = 20 + r.nextInt(80);
                        for (int c = 0; c < copies; c++) {
                            g.addNode(n.toBuilder().setName(n.getName() + "_copy" + c).setOutput(0, n.getOutput(0) + "_copy" + c));
                        }
                        break;
                    }
                }
            }
            default -> { }
        }
        return b.build();
    }

    /** A float32 initializer with at least one value, or -1. */
    private static int floatInitializer(OnnxMl.GraphProto.Builder g, Random r) {
        List<Integer> candidates = new ArrayList<>();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            OnnxMl.TensorProto t = g.getInitializer(i);
            if (t.getDataType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE && (t.getFloatDataCount() > 0 || t.getRawData().size() >= 4)) candidates.add(i);
        }
        return candidates.isEmpty() ? -1 : candidates.get(r.nextInt(candidates.size()));
    }

    /** {@code t} with one of its float values replaced by {@code v}. */
    private static OnnxMl.TensorProto setValue(OnnxMl.TensorProto t, Random r, float v) {
        if (t.getFloatDataCount() > 0) return t.toBuilder().setFloatData(r.nextInt(t.getFloatDataCount()), v).build();
        byte[] raw = t.getRawData().toByteArray();
        int at = 4 * r.nextInt(raw.length / 4);
        java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(at, v);
        return t.toBuilder().setRawData(com.google.protobuf.ByteString.copyFrom(raw)).build();
    }
}
