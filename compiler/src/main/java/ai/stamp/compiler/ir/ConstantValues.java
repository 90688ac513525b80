package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/** Reads small integer constants (shapes, axes, indices) from initializers and Constant nodes. */
public final class ConstantValues {
    private ConstantValues() {}

    public static Optional<long[]> longs(Graph graph, String tensor) {
        Optional<OnnxMl.TensorProto> t = graph.initializer(tensor);
        if (t.isPresent()) return decode(t.get());
        Optional<OnnxMl.NodeProto> p = graph.producer(tensor);
        if (p.isPresent() && p.get().getOpType().equals("Constant")) {
            for (OnnxMl.AttributeProto a : p.get().getAttributeList()) {
                switch (a.getName()) {
                    case "value": return decode(a.getT());
                    case "value_ints": return Optional.of(a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                    case "value_int": return Optional.of(new long[] {a.getI()});
                    default: break;
                }
            }
        }
        return Optional.empty();
    }

    /** The tensor of a Constant node or initializer named {@code tensor} (any type), if there is one. */
    public static Optional<OnnxMl.TensorProto> tensor(Graph graph, String tensor) {
        Optional<OnnxMl.TensorProto> t = graph.initializer(tensor);
        if (t.isPresent()) return t;
        return graph.producer(tensor).filter(p -> p.getOpType().equals("Constant"))
                .flatMap(p -> Attrs.find(p, "value")).filter(OnnxMl.AttributeProto::hasT).map(OnnxMl.AttributeProto::getT);
    }

    static Optional<long[]> decode(OnnxMl.TensorProto t) {
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) return Optional.empty();
        int type = t.getDataType();
        boolean int64 = type == OnnxMl.TensorProto.DataType.INT64_VALUE;
        if (!int64 && type != OnnxMl.TensorProto.DataType.INT32_VALUE) return Optional.empty();
        if (int64 && t.getInt64DataCount() > 0) return Optional.of(t.getInt64DataList().stream().mapToLong(Long::longValue).toArray());
        if (!int64 && t.getInt32DataCount() > 0) return Optional.of(t.getInt32DataList().stream().mapToLong(Integer::longValue).toArray());
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[b.remaining() / (int64 ? 8 : 4)];
        for (int i = 0; i < out.length; i++) out[i] = int64 ? b.getLong() : b.getInt();
        return Optional.of(out);
    }
}
