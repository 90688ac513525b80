package ai.stamp.compiler.passes.dequantize;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.ConstantValues;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.OpSets;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.passes.linear.LinearLayerMatcher;
import ai.stamp.compiler.quant.Dequantization;
import ai.stamp.compiler.quant.IntegerSources;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.Rule;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Optional;
import java.util.Set;

/**
 * QDQ weights back to float: a MatMul/Gemm whose second operand is {@code DequantizeLinear(Wq, scale[, zero_point])}
 * of an int8/uint8 constant with a float per-tensor or per-axis scale (possibly behind shape-only ops). The
 * DequantizeLinear node becomes a float initializer of the same name holding {@code (Wq - zero_point) * scale}.
 * Other forms are not applicable here; the linear-layer pass reports them as already quantized.
 */
final class QdqWeightRule implements Rule<QdqWeightRule.Plan> {
    static final String NAME = "dequantize-weights/qdq";

    /**
     * {@code dequantize} is replaced by {@code value} (named as its output); {@code integers}: its int8 values and
     * per-axis scales when it is symmetric (zero point absent or 0) per axis of a rank-2 weight, for the linear-layer
     * pass to keep ({@link IntegerSources}). Or, when {@code owner} is not null (the DequantizeLinear reads only
     * initializers of that enclosing graph, as in the branches of a merged decoder), the value is added once to
     * {@code owner} under a fresh name, shared by every DequantizeLinear of the same inputs and attributes
     * ({@code key}), and {@code dequantize} becomes an Identity of it (the layer then reads it through the Identity,
     * and its weight is quantized afresh).
     */
    record Plan(NodeProto dequantize, TensorProto value, Optional<IntegerSources.Source> integers, Graph owner, String key)
            implements WeightRestore {
        Plan(NodeProto dequantize, TensorProto value, Optional<IntegerSources.Source> integers) { this(dequantize, value, integers, null, null); }
    }

    private final LayerSelection selection;
    /** DequantizeLinear nodes already planned (two layers may read one weight). */
    private final Set<NodeProto> claimed = Collections.newSetFromMap(new IdentityHashMap<>());

    QdqWeightRule(LayerSelection selection) { this.selection = selection; }

    @Override public String name() { return NAME; }

    @Override
    public Match<Plan> match(Graph graph, NodeProto node) {
        if (!LinearLayerMatcher.isCandidate(node) || node.getInputCount() < 2 || selection.excludes(Graph.nameOf(node))) return Match.notApplicable();
        NodeProto dq = findDequantize(graph, node.getInput(1));
        if (dq == null || claimed.contains(dq)) return Match.notApplicable();
        Optional<TensorProto> value = dequantizeLinear(graph, dq);
        if (value.isEmpty()) return Match.notApplicable();
        claimed.add(dq);
        Graph owner = outerOwner(graph, dq);
        if (owner == null) return Match.planned(new Plan(dq, value.get(), integerSource(graph, dq, value.get())));
        String key = owner.scope() + "|" + String.join(",", dq.getInputList()) + "|" + dq.getAttributeList();
        return Match.planned(new Plan(dq, value.get(), Optional.empty(), owner, key));
    }

    /** The enclosing graph whose initializers are all of {@code dq}'s inputs, or null (some are this graph's, or not initializers). */
    private static Graph outerOwner(Graph graph, NodeProto dq) {
        Graph owner = null;
        for (String in : dq.getInputList()) {
            if (in.isEmpty()) continue;
            Optional<Graph> g = graph.definingGraph(in);
            if (g.isEmpty() || g.get() == graph || g.get().producer(in).isPresent()) return null;
            if (owner != null && owner != g.get()) return null;
            owner = g.get();
        }
        return owner;
    }

    @Override
    public void rewrite(Plan plan, GraphEditor edit) { edit.replaceByInitializer(plan.dequantize(), plan.value()); }

    /** An outer-scope plan: {@code shared} the name of the value in its owner graph (added by the first DequantizeLinear). */
    void rewriteShared(Plan plan, GraphEditor edit, String shared) {
        NodeProto dq = plan.dequantize();
        edit.replace(dq, java.util.List.of(edit.node("Identity", java.util.List.of(shared), java.util.List.of(dq.getOutput(0)), Graph.nameOf(dq))));
    }

    /** The DequantizeLinear that produces the weight {@code tensor} (through shape-only ops), or null. */
    static NodeProto findDequantize(Graph graph, String tensor) {
        String t = tensor;
        for (int depth = 0; depth < 8; depth++) {
            if (graph.initializer(t).isPresent()) return null;
            Optional<NodeProto> p = graph.producer(t);
            if (p.isEmpty()) return null;
            NodeProto n = p.get();
            if (n.getOpType().equals("DequantizeLinear") && n.getDomain().isEmpty()) return n;
            if (!OpSets.SHAPE_ONLY.contains(n.getOpType()) || n.getInputCount() == 0) return null;
            t = n.getInput(0);
        }
        return null;
    }

    /** The int8 symmetric per-axis source of a rank-2 DequantizeLinear this rule restores to {@code value}, or empty. */
    static Optional<IntegerSources.Source> integerSource(Graph graph, NodeProto dq, TensorProto value) {
        TensorProto x = ConstantValues.tensor(graph, dq.getInput(0)).orElse(null);
        TensorProto scale = ConstantValues.tensor(graph, dq.getInput(1)).orElse(null);
        if (x == null || scale == null || x.getDataType() != TensorProto.DataType.INT8_VALUE || x.getDimsCount() != 2) return Optional.empty();
        long axis = Attrs.i(dq, "axis", 1);
        if (axis < 0) axis += 2;
        if (axis < 0 || axis > 1 || scale.getDimsCount() != 1 || scale.getDims(0) != x.getDims((int) axis)) return Optional.empty();
        if (dq.getInputCount() > 2 && !dq.getInput(2).isEmpty()) {
            int[] zp = ConstantValues.tensor(graph, dq.getInput(2)).flatMap(z -> Tensors.readBytes(z, z.getDataType())).orElse(null);
            if (zp == null) return Optional.empty();
            for (int z : zp) if (z != 0) return Optional.empty();
        }
        int[] q = Tensors.readBytes(x, TensorProto.DataType.INT8_VALUE).orElse(null);
        float[] s = Tensors.readFloats(scale).orElse(null);
        if (q == null || s == null) return Optional.empty();
        byte[] values = new byte[q.length];
        for (int i = 0; i < q.length; i++) values[i] = (byte) q[i];
        return Optional.of(new IntegerSources.Source(dq.getOutput(0), value, values, (int) x.getDims(0), (int) x.getDims(1), s, (int) axis));
    }

    /** The float tensor a DequantizeLinear of constants computes; empty when unsupported. */
    static Optional<TensorProto> dequantizeLinear(Graph graph, NodeProto dq) {
        if (dq.getInputCount() < 2 || dq.getOutputCount() < 1) return Optional.empty();
        Optional<TensorProto> x = ConstantValues.tensor(graph, dq.getInput(0));
        Optional<TensorProto> scale = ConstantValues.tensor(graph, dq.getInput(1));
        boolean hasZp = dq.getInputCount() > 2 && !dq.getInput(2).isEmpty();
        Optional<TensorProto> zp = hasZp ? ConstantValues.tensor(graph, dq.getInput(2)) : Optional.empty();
        if (x.isEmpty() || scale.isEmpty() || (hasZp && zp.isEmpty())) return Optional.empty();
        if (Attrs.i(dq, "block_size", 0) != 0) return Optional.empty();
        int rank = x.get().getDimsCount();
        long axis = Attrs.i(dq, "axis", 1);
        if (axis < 0) axis += rank;
        return Dequantization.dequantize(x.get(), scale.get(), zp.orElse(null), (int) axis)
                .map(v -> Tensors.floatTensor(v, x.get().getDimsList()));
    }
}
