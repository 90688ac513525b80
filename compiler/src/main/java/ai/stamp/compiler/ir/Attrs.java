package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.Optional;

/** Typed reads of node attributes with the ONNX defaults spelled at the call site. */
public final class Attrs {
    private Attrs() {}

    static Optional<OnnxMl.AttributeProto> find(NodeProto n, String name) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) if (a.getName().equals(name)) return Optional.of(a);
        return Optional.empty();
    }

    public static long i(NodeProto n, String name, long fallback) {
        return find(n, name).map(OnnxMl.AttributeProto::getI).orElse(fallback);
    }

    public static float f(NodeProto n, String name, float fallback) {
        return find(n, name).map(OnnxMl.AttributeProto::getF).orElse(fallback);
    }

    static String s(NodeProto n, String name, String fallback) {
        return find(n, name).map(a -> a.getS().toStringUtf8()).orElse(fallback);
    }

    /** The ints attribute, or null when absent. */
    public static long[] ints(NodeProto n, String name) {
        return find(n, name).map(a -> a.getIntsList().stream().mapToLong(Long::longValue).toArray()).orElse(null);
    }
}
