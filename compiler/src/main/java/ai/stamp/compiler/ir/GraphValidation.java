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
 * tensor nothing defines, a tensor defined twice, a cycle, and a MatMul/Gemm whose operands' element types differ.
 * Nodes may come in any order (ORT sorts them); names of enclosing graphs are visible in If/Loop/Scan bodies.
 */
public final class GraphValidation {
    private GraphValidation() {}

    public static void requireValid(OnnxMl.ModelProto model, String where) {
        defect(model.getGraph(), Set.of()).ifPresent(d -> {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, where + " is not a valid ONNX graph: " + d
                    + " (ONNX Runtime refuses it too); fix the export");
        });
    }

    /** The first defect of {@code g}, whose enclosing graphs define {@code outer}. */
    static Optional<String> defect(OnnxMl.GraphProto g, Set<String> outer) {
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
        Set<String> all = new HashSet<>(defined);
        all.addAll(producer.keySet());
        for (NodeProto n : g.getNodeList()) {
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !all.contains(in)) return Optional.of("node '" + Graph.nameOf(n) + "' reads '" + in + "', which nothing defines");
            }
            Optional<String> types = operandTypes(n, elemTypes);
            if (types.isPresent()) return types;
        }
        Optional<String> cycle = cycle(g.getNodeList(), producer);
        if (cycle.isPresent()) return cycle;
        for (NodeProto n : g.getNodeList()) {
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                List<OnnxMl.GraphProto> bodies = a.hasG() ? List.of(a.getG()) : a.getGraphsList();
                for (OnnxMl.GraphProto body : bodies) {
                    Optional<String> d = defect(body, all);
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

    /** Kahn's algorithm over the node inputs this graph's nodes produce: a node left over sits on a cycle. */
    private static Optional<String> cycle(List<NodeProto> nodes, Map<String, NodeProto> producer) {
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
        int done = 0;
        while (!ready.isEmpty()) {
            NodeProto n = ready.poll();
            done++;
            for (NodeProto r : readers.getOrDefault(n, List.of())) if (waiting.merge(r, -1, Integer::sum) == 0) ready.add(r);
        }
        if (done == nodes.size()) return Optional.empty();
        for (NodeProto n : nodes) {
            if (waiting.get(n) > 0) return Optional.of("node '" + Graph.nameOf(n) + "' is on a cycle (it depends on its own output)");
        }
        return Optional.empty();
    }
}
