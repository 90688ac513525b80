package ai.stamp.compiler.rewrite;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.ops.StampDomain;
import ai.stamp.ops.StampOp;
import java.util.List;

/**
 * Edits to one graph, handed out by the {@link ModelEditor}. Rules tell it which node a list of new nodes
 * replaces; the graph is written out in its original order with each replaced node's substitutes at its position,
 * so the node list stays topologically sorted (substitutes read only what the replaced node read, or what earlier
 * substitutes wrote). Every node it makes is named fresh and labelled with its maker (the rule or stage).
 */
public final class GraphEditor {
    private final ModelEditor model;
    private final ModelEditor.GraphEdits edits;
    private final String maker;

    GraphEditor(ModelEditor model, ModelEditor.GraphEdits edits, String maker) {
        this.model = model;
        this.edits = edits;
        this.maker = maker;
    }

    /** The same graph's editor, labelling the nodes it makes as made by {@code otherMaker}. */
    public GraphEditor as(String otherMaker) { return new GraphEditor(model, edits, otherMaker); }

    public ModelEditor model() { return model; }

    /** A name no tensor or node of the model has, derived from {@code hint}. */
    public String fresh(String hint) { return model.fresh(hint); }

    /** A standard-domain node; its name is fresh and its doc_string says which maker made it. */
    public NodeProto node(String opType, List<String> inputs, List<String> outputs, String forLayer, OnnxMl.AttributeProto... attrs) {
        return NodeProto.newBuilder().setOpType(opType).setName(fresh(forLayer + "/stamp/" + opType))
                .addAllInput(inputs).addAllOutput(outputs)
                .setDocString("stamp-onnx " + maker + " for " + forLayer)
                .addAllAttribute(List.of(attrs)).build();
    }

    /**
     * A standard-domain node that takes over {@code original}'s role and keeps its name (a fresh one when it had
     * none), so {@code --exclude} patterns and reports still find it; {@code note} says what it was.
     */
    public NodeProto nodeReplacing(NodeProto original, String opType, List<String> inputs, List<String> outputs, String note) {
        String name = original.getName().isEmpty() ? fresh(opType + "_" + maker.replaceAll("[^A-Za-z0-9]", "_")) : original.getName();
        return NodeProto.newBuilder().setOpType(opType).setName(name).addAllInput(inputs).addAllOutput(outputs)
                .setDocString("stamp-onnx " + maker + " for " + Graph.nameOf(original) + ": " + note).build();
    }

    /** A node calling {@code op}'s model-local function; the function is registered once. */
    public NodeProto call(StampOp op, List<String> inputs, List<String> outputs, String forLayer) {
        model.register(op);
        return NodeProto.newBuilder().setOpType(op.functionName()).setDomain(StampDomain.NAME)
                .setName(fresh(forLayer + "/stamp/" + op.opName()))
                .addAllInput(inputs).addAllOutput(outputs)
                .setDocString("stamp-onnx " + maker + " for " + forLayer + ": " + op.describe()).build();
    }

    /** {@code old} is removed and {@code substitutes} take its place in the node order. */
    public void replace(NodeProto old, List<NodeProto> substitutes) {
        if (edits.replacements.containsKey(old)) throw new IllegalStateException("node " + Graph.nameOf(old) + " replaced twice");
        edits.replacements.put(old, List.copyOf(substitutes));
    }

    /**
     * {@code nodes} go before the graph's first node, in this order; they may read only graph inputs, initializers and
     * outer-scope values (e.g. a value computed once from the inputs for every later node).
     */
    public void prepend(List<NodeProto> nodes) { edits.prepended.addAll(nodes); }

    /** {@code node} is removed (its outputs must be read by nothing that stays). */
    public void remove(NodeProto node) { replace(node, List.of()); }

    /** A new initializer of this graph, named fresh from {@code hint} (the tensor's own name is ignored); returns the name. */
    public String addInitializer(String hint, OnnxMl.TensorProto tensor) {
        String name = fresh(hint);
        edits.addedInitializers.add(tensor.toBuilder().setName(name).build());
        return name;
    }

    /**
     * {@code node} (a single-output node of constants, e.g. DequantizeLinear of an initializer) is removed and its
     * output becomes an initializer holding {@code value}, under the output's own name.
     */
    public void replaceByInitializer(NodeProto node, OnnxMl.TensorProto value) {
        remove(node);
        edits.addedInitializers.add(value.toBuilder().setName(node.getOutput(0)).build());
    }

    /** Drops an initializer of this graph that nothing reads any more (the caller checked that). */
    public void removeInitializer(String name) { edits.removedInitializers.add(name); }
}
