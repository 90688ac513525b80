package ai.stamp.compiler.passes.dequantize;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.Rule;
import com.google.protobuf.ByteString;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Hand-made variants of {@link ai.stamp.testmodels.QuantizedGraphs}, and helpers to read what a rule made of them. */
final class Variants {
    private Variants() {}

    static final LayerSelection ALL = new LayerSelection(Optional.empty(), true);

    static LayerSelection excluding(String regex) { return new LayerSelection(Optional.of(Pattern.compile(regex)), true); }

    /** {@code m} with node {@code name} changed. */
    static OnnxMl.ModelProto node(OnnxMl.ModelProto m, String name, UnaryOperator<NodeProto.Builder> change) {
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        int i = index(g, name);
        g.setNode(i, change.apply(g.getNode(i).toBuilder()));
        return m.toBuilder().setGraph(g).build();
    }

    /** {@code m} with {@code node} inserted right after node {@code after}. */
    static OnnxMl.ModelProto insertAfter(OnnxMl.ModelProto m, String after, NodeProto node) {
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        List<NodeProto> nodes = new java.util.ArrayList<>(g.getNodeList());
        nodes.add(index(g, after) + 1, node);
        return m.toBuilder().setGraph(g.clearNode().addAllNode(nodes)).build();
    }

    /** {@code m} with initializer {@code name} replaced by {@code t} (renamed to {@code name}). */
    static OnnxMl.ModelProto initializer(OnnxMl.ModelProto m, String name, TensorProto t) {
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            if (g.getInitializer(i).getName().equals(name)) return m.toBuilder().setGraph(g.setInitializer(i, t.toBuilder().setName(name))).build();
        }
        throw new IllegalArgumentException(name);
    }

    /** {@code m} where initializer {@code name} is a graph input instead (a run-time value). */
    static OnnxMl.ModelProto asInput(OnnxMl.ModelProto m, String name) {
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getName().equals(name)) {
                g.removeInitializer(i);
                g.addInput(valueInfo(name, t));
                return m.toBuilder().setGraph(g).build();
            }
        }
        throw new IllegalArgumentException(name);
    }

    static OnnxMl.ModelProto addOutput(OnnxMl.ModelProto m, String name) {
        return m.toBuilder().setGraph(m.getGraph().toBuilder().addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(name))).build();
    }

    static OnnxMl.ValueInfoProto valueInfo(String name, TensorProto t) {
        OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : t.getDimsList()) s.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(t.getDataType()).setShape(s))).build();
    }

    static NodeProto n(String op, String name, List<String> in, String out, OnnxMl.AttributeProto... attrs) {
        return NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(out).addAllAttribute(List.of(attrs)).build();
    }

    static TensorProto bytes(int type, byte[] v, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(type).setRawData(ByteString.copyFrom(v));
        for (long d : dims) t.addDims(d);
        return t.build();
    }

    static TensorProto floats(float[] v, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) t.addDims(d);
        for (float f : v) t.addFloatData(f);
        return t.build();
    }

    static TensorProto init(OnnxMl.GraphProto g, String name) {
        return g.getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name));
    }

    /** name:TYPE[dims] of every initializer, in order. */
    static String inits(OnnxMl.GraphProto g) {
        return g.getInitializerList().stream()
                .map(t -> t.getName() + ":" + TensorProto.DataType.forNumber(t.getDataType()) + t.getDimsList())
                .collect(Collectors.joining(" "));
    }

    /** One rule instance's verdict on every node of the main graph, in node order, by node name. */
    static <P> Map<String, Match<P>> matchAll(Rule<P> rule, Graph g) {
        Map<String, Match<P>> out = new LinkedHashMap<>();
        for (NodeProto n : g.nodes()) out.put(Graph.nameOf(n), rule.match(g, n));
        return out;
    }

    /** "fc1:planned fc2:n/a ..." */
    static String verdicts(Map<String, ? extends Match<?>> m) {
        return m.entrySet().stream().map(e -> e.getKey() + ":" + verdict(e.getValue())).collect(Collectors.joining(" "));
    }

    /** The plan of a Planned match; fails the test otherwise. */
    static <P> P planned(Match<P> m) {
        if (m instanceof Match.Planned<P> p) return p.plan();
        throw new AssertionError("not planned: " + m);
    }

    static String verdict(Match<?> m) {
        if (m instanceof Match.Planned<?>) return "planned";
        if (m instanceof Match.Refused<?> r) return "refused(" + r.refusal().code().id() + ")";
        return "n/a";
    }

    private static int index(OnnxMl.GraphProto.Builder g, String name) {
        for (int i = 0; i < g.getNodeCount(); i++) if (g.getNode(i).getName().equals(name)) return i;
        throw new IllegalArgumentException(name);
    }

    /** (q - zp) * scale computed here, independently of the compiler: q and zp int8/uint8, scale per-tensor or along {@code axis}. */
    static float[] dequantize(TensorProto q, TensorProto scale, TensorProto zp, int axis) {
        boolean unsigned = q.getDataType() == TensorProto.DataType.UINT8_VALUE;
        byte[] qb = q.getRawData().toByteArray();
        byte[] zb = zp == null ? new byte[] {0} : zp.getRawData().toByteArray();
        List<Float> s = scale.getFloatDataList();
        long inner = 1;
        for (int d = axis + 1; d < q.getDimsCount(); d++) inner *= q.getDims(d);
        float[] out = new float[qb.length];
        for (int i = 0; i < qb.length; i++) {
            int c = s.size() == 1 ? 0 : (int) ((i / inner) % s.size());
            int qi = unsigned ? qb[i] & 0xff : qb[i];
            int zi = unsigned ? zb[zb.length == 1 ? 0 : c] & 0xff : zb[zb.length == 1 ? 0 : c];
            out[i] = (qi - zi) * s.get(c);
        }
        return out;
    }
}
