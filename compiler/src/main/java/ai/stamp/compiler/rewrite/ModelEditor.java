package ai.stamp.compiler.rewrite;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.ops.StampOp;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The only thing that changes a model. Rules and passes edit graphs through the {@link GraphEditor} it hands out
 * ({@link #graph}), and ask it for the model-level edits (IR version, opset imports, model-local functions,
 * metadata). It keeps names unique across the whole model, subgraphs included, and across passes, registers each
 * function once, and assembles the result: {@link #commit()} applies the graph edits made so far (the next pass
 * then reads the committed model), {@link #build()} adds the model-level edits.
 */
public final class ModelEditor {
    private final Set<String> usedNames = new HashSet<>();
    private final FunctionRegistry functions;
    private final Map<String, GraphEdits> graphs = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<OnnxMl.OperatorSetIdProto> addedOpsets = new ArrayList<>();
    private OnnxMl.ModelProto model;
    private long minIrVersion;
    private int counter;

    public ModelEditor(OnnxMl.ModelProto model) {
        this.model = model;
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

    /** The model with every graph edit committed so far (what the next pass reads). */
    public OnnxMl.ModelProto current() { return model; }

    public FunctionRegistry functions() { return functions; }

    /** A name no tensor or node of the model has, derived from {@code hint}. */
    public String fresh(String hint) {
        String base = hint.replaceAll("[^A-Za-z0-9_./:-]", "_");
        String name = base;
        while (!usedNames.add(name)) name = base + "_" + (++counter);
        return name;
    }

    /** The editor of {@code graph} (a graph of {@link #current()}), whose nodes are labelled as made by {@code maker}. */
    public GraphEditor graph(Graph graph, String maker) {
        Graph root = graph;
        while (root.parent().isPresent()) root = root.parent().get();
        if (root.proto() != model.getGraph()) throw new IllegalStateException("graph " + graph.path() + " is not a graph of the current model");
        GraphEdits edits = graphs.computeIfAbsent(graph.scope(), k -> new GraphEdits(graph.proto()));
        if (edits.graph != graph.proto()) throw new IllegalStateException("graph " + graph.path() + " is not a graph of the current model");
        return new GraphEditor(this, edits, maker);
    }

    /** Calls of {@code op} need its function: registered once, at the model's opset. */
    void register(StampOp op) { functions.register(op); }

    /** The output's IR version is at least {@code version} (model-local functions need 8). */
    public void requireIrVersion(long version) { minIrVersion = Math.max(minIrVersion, version); }

    /** Adds an opset import for {@code domain} (a new domain: the model's own imports are never changed). */
    public void importOpset(String domain, long version) {
        for (OnnxMl.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().equals(domain)) throw new IllegalStateException("the model already imports domain '" + domain + "'");
        }
        for (OnnxMl.OperatorSetIdProto o : addedOpsets) {
            if (o.getDomain().equals(domain)) throw new IllegalStateException("domain '" + domain + "' is imported already");
        }
        addedOpsets.add(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(version).build());
    }

    /** Sets a metadata_props entry (replacing the value of an existing key in place). */
    public void putMetadata(String key, String value) { metadata.put(key, value); }

    /** Applies the graph edits made so far; later {@link #graph} calls edit the committed model. */
    public OnnxMl.ModelProto commit() {
        if (graphs.values().stream().anyMatch(e -> !e.isEmpty())) {
            model = model.toBuilder().setGraph(rebuild(model.getGraph(), Graph.MAIN_SCOPE)).build();
        }
        graphs.clear();
        return model;
    }

    /**
     * Below IR 4 every initializer had to be listed as a graph input too, and there it means a constant; from IR 4 ONNX
     * Runtime treats such an input as a default a caller may override. When the output's IR is raised past 3 (model-local
     * functions need IR 8), the main graph's inputs that are initializers are dropped, so they stay constants — and an
     * original float weight nothing reads any more can then be removed like any unused initializer.
     */
    public void dropInitializerInputsBelowIr4() {
        commit();
        if (model.getIrVersion() >= 4) return;
        java.util.Set<String> inits = new java.util.HashSet<>();
        for (OnnxMl.TensorProto t : model.getGraph().getInitializerList()) inits.add(t.getName());
        OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder().clearInput();
        for (OnnxMl.ValueInfoProto in : model.getGraph().getInputList()) if (!inits.contains(in.getName())) g.addInput(in);
        model = model.toBuilder().setGraph(g).build();
    }

    /**
     * Drops the main graph's value_info entries that claim an absurd length for a shape operand (a Reshape/Expand
     * shape or a ConstantOfShape input longer than {@link ai.stamp.compiler.ir.Shapes#MAX_PLAUSIBLE_RANK}): the pass
     * treated them as unknown, as ONNX Runtime does, and the output does not repeat a claim onnx's checker rejects.
     */
    public void dropImplausibleShapeHints() {
        commit();
        java.util.Set<String> shapeOperands = new java.util.HashSet<>();
        for (OnnxMl.NodeProto n : model.getGraph().getNodeList()) {
            if (!n.getDomain().isEmpty()) continue;
            int operand = switch (n.getOpType()) {
                case "Reshape", "Expand" -> 1;
                case "ConstantOfShape" -> 0;
                default -> -1;
            };
            if (operand >= 0 && n.getInputCount() > operand) shapeOperands.add(n.getInput(operand));
        }
        OnnxMl.GraphProto g = model.getGraph();
        java.util.List<OnnxMl.ValueInfoProto> kept = new java.util.ArrayList<>();
        for (OnnxMl.ValueInfoProto v : g.getValueInfoList()) {
            java.util.List<OnnxMl.TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
            boolean absurd = shapeOperands.contains(v.getName()) && dims.size() == 1
                    && dims.get(0).getDimValue() > ai.stamp.compiler.ir.Shapes.MAX_PLAUSIBLE_RANK;
            if (!absurd) kept.add(v);
        }
        if (kept.size() < g.getValueInfoCount()) model = model.toBuilder().setGraph(g.toBuilder().clearValueInfo().addAllValueInfo(kept)).build();
    }

    /** The finished model: every graph edit, then the functions, opset imports, IR version and metadata. */
    public OnnxMl.ModelProto build() {
        commit();
        OnnxMl.ModelProto.Builder out = model.toBuilder();
        if (minIrVersion > out.getIrVersion()) out.setIrVersion(minIrVersion);
        out.addAllOpsetImport(addedOpsets);
        for (OnnxMl.FunctionProto f : functions.functions()) out.addFunctions(f);
        metadata.forEach((k, v) -> put(out, k, v));
        return out.build();
    }

    private static void put(OnnxMl.ModelProto.Builder b, String key, String value) {
        for (int i = 0; i < b.getMetadataPropsCount(); i++) {
            if (b.getMetadataProps(i).getKey().equals(key)) {
                b.setMetadataProps(i, b.getMetadataProps(i).toBuilder().setValue(value));
                return;
            }
        }
        b.addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value));
    }

    /** {@code g} (of scope {@code scope}) with its own edits applied and its nested bodies rebuilt. */
    private OnnxMl.GraphProto rebuild(OnnxMl.GraphProto g, String scope) {
        GraphEdits edits = graphs.get(scope);
        boolean nestedEdits = graphs.entrySet().stream().anyMatch(e -> e.getKey().startsWith(scope + "/") && !e.getValue().isEmpty());
        if ((edits == null || edits.isEmpty()) && !nestedEdits) return g;
        List<NodeProto> out = new ArrayList<>(g.getNodeCount() + (edits == null ? 0 : 16 * edits.replacements.size()));
        if (edits != null) out.addAll(edits.prepended);
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            List<NodeProto> sub = edits == null ? null : edits.replacements.get(n);
            if (sub != null) out.addAll(sub);
            else out.add(nestedEdits ? withRebuiltBodies(n, Graph.childScope(scope, i)) : n);
        }
        OnnxMl.GraphProto.Builder b = g.toBuilder().clearNode().addAllNode(out);
        if (edits != null && (!edits.addedInitializers.isEmpty() || !edits.removedInitializers.isEmpty())) {
            List<OnnxMl.TensorProto> inits = new ArrayList<>();
            for (OnnxMl.TensorProto t : g.getInitializerList()) if (!edits.removedInitializers.contains(t.getName())) inits.add(t);
            inits.addAll(edits.addedInitializers);
            b.clearInitializer().addAllInitializer(inits);
        }
        return b.build();
    }

    private NodeProto withRebuiltBodies(NodeProto n, String nodeScope) {
        NodeProto.Builder b = null;
        for (int a = 0; a < n.getAttributeCount(); a++) {
            OnnxMl.AttributeProto attr = n.getAttribute(a);
            if (!attr.hasG() && attr.getGraphsCount() == 0) continue;
            OnnxMl.AttributeProto.Builder ab = attr.toBuilder();
            boolean changed = false;
            if (attr.hasG()) {
                OnnxMl.GraphProto r = rebuild(attr.getG(), Graph.bodyScope(nodeScope, attr.getName(), -1));
                if (r != attr.getG()) { ab.setG(r); changed = true; }
            }
            for (int j = 0; j < attr.getGraphsCount(); j++) {
                OnnxMl.GraphProto r = rebuild(attr.getGraphs(j), Graph.bodyScope(nodeScope, attr.getName(), j));
                if (r != attr.getGraphs(j)) { ab.setGraphs(j, r); changed = true; }
            }
            if (changed) {
                if (b == null) b = n.toBuilder();
                b.setAttribute(a, ab);
            }
        }
        return b == null ? n : b.build();
    }

    /** The pending edits of one graph. */
    static final class GraphEdits {
        final OnnxMl.GraphProto graph;
        final Map<NodeProto, List<NodeProto>> replacements = new java.util.IdentityHashMap<>();
        final List<OnnxMl.TensorProto> addedInitializers = new ArrayList<>();
        final Set<String> removedInitializers = new HashSet<>();
        final List<NodeProto> prepended = new ArrayList<>();

        GraphEdits(OnnxMl.GraphProto graph) { this.graph = graph; }

        boolean isEmpty() { return replacements.isEmpty() && addedInitializers.isEmpty() && removedInitializers.isEmpty() && prepended.isEmpty(); }
    }
}
