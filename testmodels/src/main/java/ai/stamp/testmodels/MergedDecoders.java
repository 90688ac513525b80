package ai.stamp.testmodels;

import ai.onnx.proto.OnnxMl;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A merged decoder as Hugging Face Optimum exports one ({@code decoder_model_merged.onnx}): the main graph takes the
 * decoder's inputs plus a bool {@code use_cache_branch} and holds only the weights and one {@code If} on it; both
 * branches hold the whole decoder computation, reading the weights from the enclosing graph. (Optimum's no-cache
 * branch ignores the past; here both branches are the same computation, which is what makes the test exact.)
 */
public final class MergedDecoders {
    private MergedDecoders() {}

    /** {@code decoder}'s computation in both branches of an If on {@code use_cache_branch}; its initializers stay outside. */
    public static OnnxMl.ModelProto merged(OnnxMl.ModelProto decoder) {
        OnnxMl.GraphProto g = decoder.getGraph();
        Set<String> outer = new HashSet<>();
        g.getInputList().forEach(i -> outer.add(i.getName()));
        g.getInitializerList().forEach(t -> outer.add(t.getName()));
        OnnxMl.GraphProto.Builder main = OnnxMl.GraphProto.newBuilder().setName(g.getName() + "_merged")
                .addAllInput(g.getInputList()).addAllInitializer(g.getInitializerList()).addAllOutput(g.getOutputList())
                .addInput(OnnxMl.ValueInfoProto.newBuilder().setName("use_cache_branch").setType(OnnxMl.TypeProto.newBuilder()
                        .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.BOOL_VALUE)
                                .setShape(OnnxMl.TensorShapeProto.newBuilder().addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1))))));
        OnnxMl.NodeProto.Builder iff = OnnxMl.NodeProto.newBuilder().setOpType("If").setName("optimum::if").addInput("use_cache_branch")
                .addAttribute(graphAttr("then_branch", branch(g, "then", outer)))
                .addAttribute(graphAttr("else_branch", branch(g, "else", outer)));
        for (OnnxMl.ValueInfoProto o : g.getOutputList()) iff.addOutput(o.getName());
        main.addNode(iff);
        return decoder.toBuilder().setGraph(main).build();
    }

    /** The decoder's nodes with every tensor they make renamed {@code prefix/...} (unique across the model's scopes). */
    private static OnnxMl.GraphProto branch(OnnxMl.GraphProto g, String prefix, Set<String> outer) {
        OnnxMl.GraphProto.Builder b = OnnxMl.GraphProto.newBuilder().setName(g.getName() + "_" + prefix);
        for (int i = 0; i < g.getNodeCount(); i++) {
            OnnxMl.NodeProto n = g.getNode(i);
            OnnxMl.NodeProto.Builder nb = n.toBuilder().clearInput().clearOutput().setName(prefix + "/" + (n.getName().isEmpty() ? "node" + i : n.getName()));
            for (String in : n.getInputList()) nb.addInput(rename(in, prefix, outer));
            for (String out : n.getOutputList()) nb.addOutput(rename(out, prefix, outer));
            b.addNode(nb);
        }
        for (OnnxMl.ValueInfoProto o : g.getOutputList()) b.addOutput(o.toBuilder().setName(rename(o.getName(), prefix, outer)));
        return b.build();
    }

    private static String rename(String tensor, String prefix, Set<String> outer) {
        return tensor.isEmpty() || outer.contains(tensor) ? tensor : prefix + "/" + tensor;
    }

    private static OnnxMl.AttributeProto graphAttr(String name, OnnxMl.GraphProto body) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.GRAPH).setG(body).build();
    }

    /** The branch names, for tests that look inside. */
    public static final List<String> BRANCHES = List.of("then_branch", "else_branch");
}
