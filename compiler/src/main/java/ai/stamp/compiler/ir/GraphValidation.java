package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The defects ONNX Runtime refuses a model for, checked before anything is rewritten so that such a model is refused
 * (exit 6, naming the node and the defect) instead of rewritten into another model ORT cannot load: a node reading a
 * tensor nothing defines, a tensor defined twice, a cycle, a MatMul/Gemm whose operands' element types differ, a
 * default-domain node that does not fit its op's schema ({@link NodeSchemaCheck}: unknown op, input/output count,
 * attributes) and element types that break the ops' type constraints or the graph's declarations ({@link TypeCheck}).
 * Nodes may come in any order (ORT sorts them); names and types of enclosing graphs are visible in If/Loop/Scan bodies.
 */
public final class GraphValidation {
    /** The model's default-domain opset (0: none imported, schemas not checked). */
    private final int opset;
    /** Model-local functions as {@code domain:name}: nodes calling them have no op schema. */
    private final Set<String> functions;

    private GraphValidation(int opset, Set<String> functions) {
        this.opset = opset;
        this.functions = functions;
    }

    public static void requireValid(OnnxMl.ModelProto model, String where) {
        int opset = 0;
        for (OnnxMl.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) opset = (int) o.getVersion();
        }
        Set<String> functions = new HashSet<>();
        for (OnnxMl.FunctionProto f : model.getFunctionsList()) functions.add(f.getDomain() + ":" + f.getName());
        Optional<String> untyped = untypedInput(model.getGraph());
        (untyped.isPresent() ? untyped : new GraphValidation(opset, functions).defect(model.getGraph(), Set.of(), Map.of())).ifPresent(d -> {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, where + " is not a valid ONNX graph: " + d
                    + " (ONNX Runtime refuses it too); fix the export");
        });
    }

    /**
     * {@code g} with its Constant nodes' inputs dropped: ONNX Runtime turns every Constant node into an initializer
     * before it checks the graph, so what a Constant "reads" never matters to it (nor to the cycle check), nor do its
     * other attributes or a declared type: the value's own type is the tensor's, as for an initializer.
     */
    private static OnnxMl.GraphProto constantsWithoutInputs(OnnxMl.GraphProto g) {
        OnnxMl.GraphProto.Builder b = null;
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            if (!n.getOpType().equals("Constant") || !n.getDomain().isEmpty() || n.getInputCount() == 0) continue;
            if (b == null) b = g.toBuilder();
            b.setNode(i, n.toBuilder().clearInput());
        }
        return b == null ? g : b.build();
    }

    /** A main-graph input without a type (ORT needs one for each input a caller feeds; an initializer's comes from its data). */
    private static Optional<String> untypedInput(OnnxMl.GraphProto g) {
        Set<String> initializers = new HashSet<>();
        for (OnnxMl.TensorProto t : g.getInitializerList()) initializers.add(t.getName());
        for (OnnxMl.ValueInfoProto v : g.getInputList()) {
            if (v.getType().getValueCase() == OnnxMl.TypeProto.ValueCase.VALUE_NOT_SET && !initializers.contains(v.getName())) {
                return Optional.of("graph input '" + v.getName() + "' has no type");
            }
        }
        return Optional.empty();
    }

    /** The first defect of {@code g}, whose enclosing graphs define the names {@code outer}, of {@code outerTypes} where known. */
    private Optional<String> defect(OnnxMl.GraphProto graph, Set<String> outer, Map<String, Integer> outerTypes) {
        OnnxMl.GraphProto g = constantsWithoutInputs(graph);
        Set<String> defined = new HashSet<>(outer);
        Map<String, Integer> elemTypes = new HashMap<>();
        for (OnnxMl.ValueInfoProto v : g.getInputList()) {
            defined.add(v.getName());
            if (v.getType().hasTensorType()) elemTypes.put(v.getName(), v.getType().getTensorType().getElemType());
        }
        for (OnnxMl.TensorProto t : g.getInitializerList()) {
            defined.add(t.getName());
            elemTypes.put(t.getName(), t.getDataType());
        }
        Map<String, NodeProto> producer = new HashMap<>();
        for (NodeProto n : g.getNodeList()) {
            for (String out : n.getOutputList()) {
                if (out.isEmpty()) continue;
                if (producer.containsKey(out)) return Optional.of("tensor '" + out + "' is the output of two nodes, '" + Graph.nameOf(producer.get(out)) + "' and '" + Graph.nameOf(n) + "'");
                if (defined.contains(out) && !outer.contains(out)) return Optional.of("node '" + Graph.nameOf(n) + "' writes '" + out + "', which is also a graph input or initializer");
                producer.put(out, n);
            }
        }
        Declared declared = Declared.of(g);
        Set<String> all = new HashSet<>(defined);
        all.addAll(producer.keySet());
        for (NodeProto n : g.getNodeList()) {
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !all.contains(in)) return Optional.of("node '" + Graph.nameOf(n) + "' reads '" + in + "', which nothing defines");
            }
            Optional<String> types = operandTypes(n, elemTypes);
            if (types.isPresent()) return types;
            Optional<String> dims = matMulInnerDims(n, declared);
            if (dims.isPresent()) return dims;
            Optional<String> branches = ifBranchOutputs(n);
            if (branches.isPresent()) return branches;
        }
        List<NodeProto> order = topologicalOrder(g.getNodeList(), producer);
        if (order.size() < g.getNodeCount()) {
            Set<NodeProto> placed = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            placed.addAll(order);
            for (NodeProto n : g.getNodeList()) {
                if (!placed.contains(n)) return Optional.of("node '" + Graph.nameOf(n) + "' is on a cycle (it depends on its own output)");
            }
        }
        Map<String, Integer> types = new HashMap<>();
        if (opset > 0) {
            for (NodeProto n : order) {
                if (!(n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx")) || functions.contains(n.getDomain() + ":" + n.getOpType())) continue;
                if (n.getOpType().equals("Constant")) continue; // an initializer to ORT before any check (see constantsWithoutInputs)
                Optional<String> d = NodeSchemaCheck.defect(n, opset);
                if (d.isPresent()) return d;
            }
            Optional<String> d = TypeCheck.defect(g, order, opset, outerTypes, types);
            if (d.isPresent()) return d;
        }
        for (NodeProto n : g.getNodeList()) {
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                List<OnnxMl.GraphProto> bodies = a.hasG() ? List.of(a.getG()) : a.getGraphsList();
                for (OnnxMl.GraphProto body : bodies) {
                    Optional<String> d = defect(body, all, types);
                    if (d.isPresent()) return Optional.of(d.get() + " (in the " + a.getName() + " of '" + Graph.nameOf(n) + "')");
                }
            }
        }
        return Optional.empty();
    }

    /** MatMul and Gemm take one element type for A and B: a float activation times an int32 constant is invalid. */
    private static Optional<String> operandTypes(NodeProto n, Map<String, Integer> types) {
        if (!n.getDomain().isEmpty() || !(n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")) || n.getInputCount() < 2) {
            return Optional.empty();
        }
        Integer a = types.get(n.getInput(0)), b = types.get(n.getInput(1));
        if (a == null || b == null || a == 0 || b == 0 || a.equals(b)) return Optional.empty();
        return Optional.of(n.getOpType() + " '" + Graph.nameOf(n) + "' multiplies " + OnnxMl.TensorProto.DataType.forNumber(a) + " '" + n.getInput(0)
                + "' by " + OnnxMl.TensorProto.DataType.forNumber(b) + " '" + n.getInput(1) + "' (its operands need one element type)");
    }

    /** The graph's initializers and its declared inputs/value_info by name, built once per graph for the per-node checks. */
    private record Declared(Map<String, OnnxMl.TensorProto> initializers, Map<String, List<OnnxMl.ValueInfoProto>> values) {
        static Declared of(OnnxMl.GraphProto g) {
            Map<String, OnnxMl.TensorProto> inits = new HashMap<>();
            for (OnnxMl.TensorProto t : g.getInitializerList()) inits.put(t.getName(), t);
            Map<String, List<OnnxMl.ValueInfoProto>> values = new HashMap<>();
            for (OnnxMl.ValueInfoProto v : g.getInputList()) values.computeIfAbsent(v.getName(), k -> new java.util.ArrayList<>()).add(v);
            for (OnnxMl.ValueInfoProto v : g.getValueInfoList()) values.computeIfAbsent(v.getName(), k -> new java.util.ArrayList<>()).add(v);
            return new Declared(inits, values);
        }
    }

    /**
     * A MatMul whose weight is an initializer of rank ≥ 2 and whose activation declares a static last dimension that is
     * not the weight's second-last: ORT's shape inference rejects it ("Incompatible dimensions for matrix multiplication").
     */
    private static Optional<String> matMulInnerDims(NodeProto n, Declared declared) {
        if (!n.getDomain().isEmpty() || !n.getOpType().equals("MatMul") || n.getInputCount() != 2) return Optional.empty();
        OnnxMl.TensorProto w = declared.initializers().get(n.getInput(1));
        if (w == null || w.getDimsCount() < 2) return Optional.empty();
        long inner = w.getDimsList().get(w.getDimsCount() - 2);
        for (OnnxMl.ValueInfoProto v : declared.values().getOrDefault(n.getInput(0), List.of())) {
            if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) continue;
            List<OnnxMl.TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
            if (dims.isEmpty() || !dims.get(dims.size() - 1).hasDimValue()) continue;
            long last = dims.get(dims.size() - 1).getDimValue();
            if (last >= 0 && last != inner) { // a negative dim_value is read as unknown, as ORT reads it
                return Optional.of("MatMul '" + Graph.nameOf(n) + "' multiplies '" + n.getInput(0) + "' (last dimension " + last + ") by '"
                        + w.getName() + "' " + w.getDimsList() + ": the inner dimensions differ");
            }
        }
        return Optional.empty();
    }

    /** An If's two branches and the node itself have one count of outputs (ORT's If type inference requires it). */
    private static Optional<String> ifBranchOutputs(NodeProto n) {
        if (!n.getDomain().isEmpty() || !n.getOpType().equals("If")) return Optional.empty();
        Map<String, Integer> counts = new java.util.LinkedHashMap<>();
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            if (a.hasG() && (a.getName().equals("then_branch") || a.getName().equals("else_branch"))) counts.put(a.getName(), a.getG().getOutputCount());
        }
        if (counts.size() < 2) return Optional.empty();
        int then = counts.get("then_branch"), otherwise = counts.get("else_branch");
        if (then == otherwise && then == n.getOutputCount()) return Optional.empty();
        return Optional.of("If '" + Graph.nameOf(n) + "' has " + n.getOutputCount() + " outputs, its then_branch " + then + " and its else_branch "
                + otherwise + " (they need one count)");
    }


    /** Kahn's algorithm over the node inputs this graph's nodes produce: the nodes in an order producers-first; one on a cycle is left out. */
    private static List<NodeProto> topologicalOrder(List<NodeProto> nodes, Map<String, NodeProto> producer) {
        Map<NodeProto, Integer> waiting = new java.util.IdentityHashMap<>();
        Map<NodeProto, List<NodeProto>> readers = new java.util.IdentityHashMap<>();
        for (NodeProto n : nodes) {
            int count = 0;
            for (String in : n.getInputList()) {
                NodeProto p = producer.get(in);
                if (p != null) {
                    count++;
                    readers.computeIfAbsent(p, k -> new java.util.ArrayList<>()).add(n);
                }
            }
            waiting.put(n, count);
        }
        ArrayDeque<NodeProto> ready = new ArrayDeque<>();
        for (NodeProto n : nodes) if (waiting.get(n) == 0) ready.add(n);
        List<NodeProto> order = new java.util.ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            NodeProto n = ready.poll();
            order.add(n);
            for (NodeProto r : readers.getOrDefault(n, List.of())) if (waiting.merge(r, -1, Integer::sum) == 0) ready.add(r);
        }
        return order;
    }
}
