package ai.stamp.compiler.rewrite;

import ai.stamp.compiler.ir.Graph;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.ops.StampDomain;
import ai.stamp.ops.StampOp;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The only place a model changes. Rules ask it for fresh names and new nodes and tell it which node a
 * list of new nodes replaces; it keeps names unique across the whole model (subgraphs included), marks
 * every node it makes with the rule that made it, registers each function once, and writes the graph
 * out in the original order with each replaced node's substitutes at its position (so the node list
 * stays topologically sorted: substitutes read only what the replaced node read, or what earlier
 * substitutes wrote).
 */
public final class Rewriter {
    private final Set<String> usedNames = new HashSet<>();
    private final FunctionRegistry functions;
    private int counter;

    public Rewriter(OnnxMl.ModelProto model) {
        collectNames(model.getGraph());
        for (OnnxMl.FunctionProto f : model.getFunctionsList()) {
            for (NodeProto n : f.getNodeList()) { usedNames.addAll(n.getOutputList()); usedNames.add(n.getName()); }
        }
        this.functions = new FunctionRegistry(model);
    }

    private void collectNames(OnnxMl.GraphProto g) {
        for (OnnxMl.ValueInfoProto v : g.getInputList()) usedNames.add(v.getName());
        for (OnnxMl.TensorProto t : g.getInitializerList()) usedNames.add(t.getName());
        for (NodeProto n : g.getNodeList()) {
            usedNames.add(n.getName());
            usedNames.addAll(n.getOutputList());
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) collectNames(a.getG());
                for (OnnxMl.GraphProto sub : a.getGraphsList()) collectNames(sub);
            }
        }
    }

    public FunctionRegistry functions() { return functions; }

    /** A name no tensor or node of the model has, derived from {@code hint}. */
    public String fresh(String hint) {
        String base = hint.replaceAll("[^A-Za-z0-9_./:-]", "_");
        String name = base;
        while (!usedNames.add(name)) name = base + "_" + (++counter);
        return name;
    }

    /** Starts collecting the edits of one graph. */
    public GraphEdit edit(OnnxMl.GraphProto graph, String ruleName) { return new GraphEdit(graph, ruleName); }

    /** Edits to one graph; {@link #apply()} returns the rewritten GraphProto. */
    public final class GraphEdit {
        private final OnnxMl.GraphProto graph;
        private final String ruleName;
        private final Map<NodeProto, List<NodeProto>> replacements = new IdentityHashMap<>();
        private final Map<Integer, OnnxMl.NodeProto> replacedNested = new LinkedHashMap<>();
        private final List<OnnxMl.TensorProto> addedInitializers = new ArrayList<>();
        private final Set<String> removedInitializers = new HashSet<>();

        private GraphEdit(OnnxMl.GraphProto graph, String ruleName) {
            this.graph = graph;
            this.ruleName = ruleName;
        }

        /** A standard-domain node; its name is fresh and its doc_string says which rule made it. */
        public NodeProto node(String opType, List<String> inputs, List<String> outputs, String forLayer, OnnxMl.AttributeProto... attrs) {
            return NodeProto.newBuilder().setOpType(opType).setName(fresh(forLayer + "/stamp/" + opType))
                    .addAllInput(inputs).addAllOutput(outputs)
                    .setDocString("stamp-onnx " + ruleName + " for " + forLayer)
                    .addAllAttribute(List.of(attrs)).build();
        }

        /** A node calling {@code op}'s model-local function; the function is registered once. */
        public NodeProto call(StampOp op, List<String> inputs, List<String> outputs, String forLayer) {
            functions.register(op);
            return NodeProto.newBuilder().setOpType(op.functionName()).setDomain(StampDomain.NAME)
                    .setName(fresh(forLayer + "/stamp/" + op.opName()))
                    .addAllInput(inputs).addAllOutput(outputs)
                    .setDocString("stamp-onnx " + ruleName + " for " + forLayer + ": " + op.describe()).build();
        }

        /** {@code old} is removed and {@code substitutes} take its place in the node order. */
        public void replace(NodeProto old, List<NodeProto> substitutes) {
            if (replacements.containsKey(old)) throw new IllegalStateException("node " + Graph.nameOf(old) + " replaced twice");
            replacements.put(old, List.copyOf(substitutes));
        }

        /**
         * A new initializer of this graph, named fresh from {@code hint} (the tensor's own name is ignored);
         * {@link #apply()} appends it after the existing ones. Returns the name.
         */
        public String addInitializer(String hint, OnnxMl.TensorProto tensor) {
            String name = fresh(hint);
            addedInitializers.add(tensor.toBuilder().setName(name).build());
            return name;
        }

        /**
         * {@code node} (a single-output node of constants, e.g. DequantizeLinear of an initializer) is removed and its
         * output becomes an initializer holding {@code value}, under the output's own name.
         */
        public void replaceByInitializer(NodeProto node, OnnxMl.TensorProto value) {
            replace(node, List.of());
            addedInitializers.add(value.toBuilder().setName(node.getOutput(0)).build());
        }

        /** Drops an initializer of this graph that nothing reads any more (the caller checked that). */
        public void removeInitializer(String name) { removedInitializers.add(name); }

        /** A node whose nested graphs were rewritten: swap it in at its index. */
        public void replaceNested(int index, NodeProto rewritten) { replacedNested.put(index, rewritten); }

        public boolean isEmpty() {
            return replacements.isEmpty() && replacedNested.isEmpty() && addedInitializers.isEmpty() && removedInitializers.isEmpty();
        }

        public OnnxMl.GraphProto apply() {
            if (isEmpty()) return graph;
            List<NodeProto> out = new ArrayList<>(graph.getNodeCount() + 16 * replacements.size());
            for (int i = 0; i < graph.getNodeCount(); i++) {
                NodeProto n = graph.getNode(i);
                List<NodeProto> sub = replacements.get(n);
                if (sub != null) out.addAll(sub);
                else out.add(replacedNested.getOrDefault(i, n));
            }
            OnnxMl.GraphProto.Builder b = graph.toBuilder().clearNode().addAllNode(out);
            if (!addedInitializers.isEmpty() || !removedInitializers.isEmpty()) {
                List<OnnxMl.TensorProto> inits = new ArrayList<>();
                for (OnnxMl.TensorProto t : graph.getInitializerList()) if (!removedInitializers.contains(t.getName())) inits.add(t);
                inits.addAll(addedInitializers);
                b.clearInitializer().addAllInitializer(inits);
            }
            return b.build();
        }
    }
}
