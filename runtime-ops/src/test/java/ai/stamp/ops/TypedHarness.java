package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@link StampOp} in a one-node model whose inputs and outputs have the element types given per formal (float16,
 * double, uint8, int8, int32 or float), run in ONNX Runtime; {@link OrtHarness} declares everything float32. Values go
 * in and come out as float arrays (a float16 or double input is written from floats the caller already rounded; integer
 * inputs from integer-valued floats), so the tests compare them with the float kernels directly.
 */
final class TypedHarness {
    private TypedHarness() {}

    /** The model: the op's function at {@code opset}, formal {@code f} declared as {@code types.get(f)} (float when absent). */
    static OnnxMl.ModelProto model(StampOp op, int opset, Map<String, Integer> types) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName(op.functionName() + "_graph");
        OnnxMl.NodeProto.Builder node = OnnxMl.NodeProto.newBuilder().setName("op").setOpType(op.functionName()).setDomain(StampDomain.NAME);
        for (String in : op.inputs()) {
            g.addInput(value(in, types.getOrDefault(in, DataType.FLOAT_VALUE)));
            node.addInput(in);
        }
        for (String out : op.outputs()) {
            g.addOutput(value(out, types.getOrDefault(out, DataType.FLOAT_VALUE)));
            node.addOutput(out);
        }
        OnnxMl.FunctionProto f = op.function(opset);
        OnnxMl.ModelProto.Builder m = OnnxMl.ModelProto.newBuilder().setIrVersion(StampDomain.MIN_IR_FOR_FUNCTIONS).setProducerName("stamp-onnx-tests")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(StampDomain.NAME).setVersion(StampDomain.VERSION));
        for (OnnxMl.OperatorSetIdProto o : f.getOpsetImportList()) if (!o.getDomain().isEmpty()) m.addOpsetImport(o);
        return m.addFunctions(f).setGraph(g.addNode(node)).build();
    }

    /** Runs the model on {@code inputs} (in {@link StampOp#inputs()} order); every output as floats with its shape. */
    static List<FloatTensor> run(StampOp op, int opset, Map<String, Integer> types, FloatTensor... inputs) {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        try (so) {
            so.setIntraOpNumThreads(1);
            try (OrtSession s = OrtHarness.ENV.createSession(model(op, opset, types).toByteArray(), so)) {
                for (int i = 0; i < inputs.length; i++) {
                    String name = op.inputs().get(i);
                    feeds.put(name, tensor(inputs[i], types.getOrDefault(name, DataType.FLOAT_VALUE)));
                }
                List<FloatTensor> out = new ArrayList<>();
                try (OrtSession.Result r = s.run(feeds)) {
                    for (int i = 0; i < op.outputs().size(); i++) out.add(floats((OnnxTensor) r.get(i)));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ORT failed on " + op.functionName() + "@" + opset + ": " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor tensor(FloatTensor t, int type) throws OrtException {
        float[] v = t.data();
        switch (type) {
            case DataType.FLOAT_VALUE:
                return OnnxTensor.createTensor(OrtHarness.ENV, FloatBuffer.wrap(v), t.shape());
            case DataType.DOUBLE_VALUE: {
                double[] d = new double[v.length];
                for (int i = 0; i < v.length; i++) d[i] = v[i];
                return OnnxTensor.createTensor(OrtHarness.ENV, DoubleBuffer.wrap(d), t.shape());
            }
            case DataType.FLOAT16_VALUE: {
                short[] h = new short[v.length];
                for (int i = 0; i < v.length; i++) h[i] = Float16.fromFloat(v[i]);
                return OnnxTensor.createTensor(OrtHarness.ENV, ShortBuffer.wrap(h), t.shape(), OnnxJavaType.FLOAT16);
            }
            case DataType.INT32_VALUE: {
                int[] n = new int[v.length];
                for (int i = 0; i < v.length; i++) n[i] = (int) v[i];
                return OnnxTensor.createTensor(OrtHarness.ENV, IntBuffer.wrap(n), t.shape());
            }
            case DataType.INT8_VALUE:
            case DataType.UINT8_VALUE: {
                ByteBuffer b = ByteBuffer.allocateDirect(v.length).order(ByteOrder.nativeOrder());
                for (float x : v) b.put((byte) (int) x);
                b.rewind();
                return OnnxTensor.createTensor(OrtHarness.ENV, b, t.shape(), type == DataType.INT8_VALUE ? OnnxJavaType.INT8 : OnnxJavaType.UINT8);
            }
            default:
                throw new IllegalArgumentException("type " + type);
        }
    }

    private static FloatTensor floats(OnnxTensor t) {
        long[] shape = t.getInfo().getShape();
        float[] v;
        switch (t.getInfo().type) {
            case FLOAT -> {
                FloatBuffer b = t.getFloatBuffer();
                v = new float[b.remaining()];
                b.get(v);
            }
            case DOUBLE -> {
                DoubleBuffer b = t.getDoubleBuffer();
                v = new float[b.remaining()];
                for (int i = 0; i < v.length; i++) v[i] = (float) b.get(i);
            }
            case FLOAT16 -> {
                ShortBuffer b = t.getShortBuffer();
                v = new float[b.remaining()];
                for (int i = 0; i < v.length; i++) v[i] = Float16.toFloat(b.get(i));
            }
            case UINT8 -> {
                ByteBuffer b = t.getByteBuffer();
                v = new float[b.remaining()];
                for (int i = 0; i < v.length; i++) v[i] = b.get(i) & 0xff;
            }
            default -> throw new IllegalArgumentException("output type " + t.getInfo().type);
        }
        return new FloatTensor(v, shape);
    }

    private static OnnxMl.ValueInfoProto value(String name, int elemType) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elemType))).build();
    }
}
