package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.rewrite.ModelEditor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A read-only view over one GraphProto: who produces and who consumes each tensor, which tensors are
 * constants, what is known of their shapes, and the If/Loop/Scan bodies nested in it as child graphs
 * (which see this graph's tensors as their outer scope). Matchers read it; only the {@link ai.stamp.compiler.rewrite.ModelEditor}
 * changes a model.
 */
public final class Graph {
    private final OnnxMl.GraphProto proto;
    private final Graph parent;
    private final String path;
    private final String scope;
    private final Map<String, NodeProto> producers = new HashMap<>();
    private final Map<String, List<NodeProto>> consumers = new HashMap<>();
    private final Map<String, OnnxMl.TensorProto> initializers = new HashMap<>();
    private final Map<String, OnnxMl.TypeProto> declaredTypes = new HashMap<>();
    private final Shapes shapes;

    /** The scope key of a model's main graph. */
    public static final String MAIN_SCOPE = "main";

    public Graph(OnnxMl.GraphProto proto) { this(proto, null, "main", MAIN_SCOPE); }

    private Graph(OnnxMl.GraphProto proto, Graph parent, String path, String scope) {
        this.proto = proto;
        this.parent = parent;
        this.path = path;
        this.scope = scope;
        for (OnnxMl.TensorProto t : proto.getInitializerList()) initializers.put(t.getName(), t);
        for (OnnxMl.ValueInfoProto v : proto.getInputList()) declaredTypes.put(v.getName(), v.getType());
        for (OnnxMl.ValueInfoProto v : proto.getValueInfoList()) declaredTypes.put(v.getName(), v.getType());
        for (OnnxMl.ValueInfoProto v : proto.getOutputList()) declaredTypes.put(v.getName(), v.getType());
        for (NodeProto n : proto.getNodeList()) {
            for (String out : n.getOutputList()) if (!out.isEmpty()) producers.put(out, n);
            for (String in : n.getInputList()) {
                if (!in.isEmpty()) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
            for (String in : implicitInputs(n)) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
        }
        this.shapes = new Shapes(this);
    }

    public OnnxMl.GraphProto proto() { return proto; }

    /** The same graph (same parent scope and path) after a rewrite of its proto. */
    public Graph withProto(OnnxMl.GraphProto rewritten) {
        return rewritten == proto ? this : new Graph(rewritten, parent, path, scope);
    }

    /** "main", or the path of a nested body such as "main/If_0.then_branch". */
    public String path() { return path; }

    public Optional<Graph> parent() { return Optional.ofNullable(parent); }

    /**
     * Where this graph sits in its model, by position (node index, attribute, list index), so it is unique even
     * where node names repeat or are empty: "main", "main/3:then_branch", "main/3:body/0:else_branch".
     */
    public String scope() { return scope; }

    /** The scope prefix of the bodies of node {@code index} of the graph at {@code scope}. */
    public static String childScope(String scope, int index) { return scope + "/" + index; }

    /** The scope of attribute {@code attr}'s body ({@code listIndex} -1 for a single graph attribute). */
    public static String bodyScope(String nodeScope, String attr, int listIndex) {
        return nodeScope + ":" + attr + (listIndex < 0 ? "" : "[" + listIndex + "]");
    }

    public List<NodeProto> nodes() { return proto.getNodeList(); }

    public Optional<NodeProto> producer(String tensor) { return Optional.ofNullable(producers.get(tensor)); }

    public List<NodeProto> consumers(String tensor) {
        return Collections.unmodifiableList(consumers.getOrDefault(tensor, List.of()));
    }

    public boolean isGraphOutput(String tensor) {
        return proto.getOutputList().stream().anyMatch(v -> v.getName().equals(tensor));
    }

    public boolean isGraphInput(String tensor) {
        return proto.getInputList().stream().anyMatch(v -> v.getName().equals(tensor));
    }

    /**
     * The graph, this one or an enclosing one, whose initializer or node defines {@code tensor}; empty for an input
     * or other declared value of a graph on the way (it is not a constant there), or an unknown name.
     */
    public Optional<Graph> definingGraph(String tensor) {
        if (initializers.containsKey(tensor) || producers.containsKey(tensor)) return Optional.of(this);
        if (declaredTypes.containsKey(tensor) || parent == null) return Optional.empty();
        return parent.definingGraph(tensor);
    }

    /** The declared type of a tensor (graph input/output, value_info), searching outer scopes too. */
    public Optional<OnnxMl.TypeProto> declaredType(String tensor) {
        OnnxMl.TypeProto t = declaredTypes.get(tensor);
        if (t != null) return Optional.of(t);
        if (producers.containsKey(tensor)) return Optional.empty();
        return parent == null ? Optional.empty() : parent.declaredType(tensor);
    }

    /** An initializer of this graph or of an enclosing one. */
    public Optional<OnnxMl.TensorProto> initializer(String tensor) {
        OnnxMl.TensorProto t = initializers.get(tensor);
        if (t != null) return Optional.of(t);
        if (producers.containsKey(tensor)) return Optional.empty();
        return parent == null ? Optional.empty() : parent.initializer(tensor);
    }

    /**
     * True when {@code tensor} is known before the graph runs: an initializer, a Constant node, or a
     * chain of shape-only/cast/dequantize ops over constants.
     */
    public boolean isConstant(String tensor) { return constantRoot(tensor, 0); }

    private boolean constantRoot(String tensor, int depth) {
        if (depth > 16) return false;
        // An initializer also listed as a graph input is a default a caller may override at run time. It is still a
        // constant operand here (the layer is a linear layer); whoever would bake its value into a new tensor must
        // check isOverridable first.
        if (initializers.containsKey(tensor)) return true;
        NodeProto p = producers.get(tensor);
        if (p == null) return parent != null && !declaredTypes.containsKey(tensor) && parent.isConstant(tensor);
        if (p.getOpType().equals("Constant")) return true;
        if (!OpSets.CONSTANT_PRESERVING.contains(p.getOpType()) || !p.getDomain().isEmpty()) return false;
        for (String in : p.getInputList()) {
            if (!in.isEmpty() && !constantRoot(in, depth + 1)) return false;
        }
        return true;
    }

    /**
     * True when {@code tensor} is an initializer that is also a graph input of the graph that holds it: a default a
     * caller may replace at run time (IR >= 4; below IR 4 every initializer had to be listed as an input, so there
     * callers decide with {@code irVersion}).
     */
    public boolean isOverridable(String tensor) {
        if (initializers.containsKey(tensor)) return proto.getInputList().stream().anyMatch(v -> v.getName().equals(tensor));
        if (producers.containsKey(tensor) || declaredTypes.containsKey(tensor)) return false;
        return parent != null && parent.isOverridable(tensor);
    }

    public Shapes shapes() { return shapes; }

    /** Nested bodies of {@code node} (If branches, Loop/Scan bodies), each as a child graph. */
    public List<Graph> subgraphs(NodeProto node) {
        int index = -1;
        for (int i = 0; i < proto.getNodeCount(); i++) if (proto.getNode(i) == node) { index = i; break; }
        if (index < 0) throw new IllegalArgumentException("node " + nameOf(node) + " is not a node of graph " + path);
        String nodeScope = childScope(scope, index);
        List<Graph> out = new ArrayList<>();
        for (OnnxMl.AttributeProto a : node.getAttributeList()) {
            if (a.hasG()) out.add(new Graph(a.getG(), this, path + "/" + nameOf(node) + "." + a.getName(), bodyScope(nodeScope, a.getName(), -1)));
            for (int i = 0; i < a.getGraphsCount(); i++) {
                out.add(new Graph(a.getGraphs(i), this, path + "/" + nameOf(node) + "." + a.getName() + "[" + i + "]",
                        bodyScope(nodeScope, a.getName(), i)));
            }
        }
        return out;
    }

    /** Outer-scope tensors a node's subgraphs read: they are consumers of those tensors too. */
    private static List<String> implicitInputs(NodeProto node) {
        List<String> names = new ArrayList<>();
        for (OnnxMl.AttributeProto a : node.getAttributeList()) {
            if (a.hasG()) collectReads(a.getG(), names);
            for (OnnxMl.GraphProto g : a.getGraphsList()) collectReads(g, names);
        }
        return names;
    }

    private static void collectReads(OnnxMl.GraphProto g, List<String> names) {
        for (NodeProto n : g.getNodeList()) {
            names.addAll(n.getInputList());
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) collectReads(a.getG(), names);
                for (OnnxMl.GraphProto sub : a.getGraphsList()) collectReads(sub, names);
            }
        }
    }

    public static String nameOf(NodeProto node) {
        return node.getName().isEmpty() ? node.getOpType() + "(" + String.join(",", node.getOutputList()) + ")" : node.getName();
    }
}
