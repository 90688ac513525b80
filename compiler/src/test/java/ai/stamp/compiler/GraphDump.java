package ai.stamp.compiler;

import ai.onnx.proto.OnnxMl;
import java.util.stream.Collectors;

/** A compact one-line-per-node text form of a graph, for before/after assertions. */
public final class GraphDump {
    private GraphDump() {}

    public static String of(OnnxMl.GraphProto g) {
        return g.getNodeList().stream().map(GraphDump::node).collect(Collectors.joining("\n"));
    }

    public static String node(OnnxMl.NodeProto n) {
        String op = n.getDomain().isEmpty() ? n.getOpType() : n.getDomain() + "." + n.getOpType();
        return String.join(",", n.getOutputList()) + " = " + op + "(" + String.join(", ", n.getInputList()) + ")";
    }
}
