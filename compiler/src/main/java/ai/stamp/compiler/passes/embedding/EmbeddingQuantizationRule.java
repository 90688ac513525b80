package ai.stamp.compiler.passes.embedding;

import static ai.stamp.ops.OnnxDialect.intAttr;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.quant.RowQuantizer;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.Refusal;
import ai.stamp.compiler.rewrite.Rule;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Embedding-table quantization, as ONNX Runtime's quantizer does for a Gather of a constant table: a
 * {@code Gather(table, indices)} along axis 0 whose table is a float32 [V, E] initializer (of its graph or an outer
 * one) becomes {@code Mul(Cast(Gather(table_int8, indices), float), Gather(row_scale, indices))}: symmetric int8 with
 * one scale per row ({@link RowQuantizer}), row_scale [V, 1]. Only standard ops valid at every opset 11..21 (Gather,
 * Cast, Mul); the Mul writes the Gather's output tensor, so everything downstream reads the same name and shape.
 * Each table is quantized once and its int8 and scale initializers are shared by every Gather reading it. Whether the
 * float table goes is the pass's decision ({@link EmbeddingQuantizationPass}): it needs every reader of the table.
 *
 * <p>Refused (reported): an int8/uint8 table (already quantized), a float16/double/bfloat16 one, a table excluded by
 * {@code --exclude} (the Gather's name), of rank other than 2 or with an empty axis, a Gather along axis 1, the row
 * scales of an already quantized lookup, a table a caller may override (a graph input with a default, IR ≥ 4), one
 * stored as external data, one holding NaN or an infinity. Not applicable (not reported): a Gather of anything but an
 * initializer (an activation, a graph input without default, a Constant node), or of an integer/bool table (an index
 * table, not an embedding).
 */
public final class EmbeddingQuantizationRule implements Rule<EmbeddingQuantizationRule.Plan> {
    public static final String NAME = "embedding-quantization";

    /** {@code gather} reads {@code table}'s int8 values and row scales instead of the float table. */
    public record Plan(NodeProto gather, QuantizedTable table) {}

    private record Emitted(String values, String scales) {}

    private final LayerSelection selection;
    private final boolean overridableInputs;
    /** Per table (owner scope + name): its quantization, or why it has none; computed once. */
    private final Map<String, Match<QuantizedTable>> tables = new HashMap<>();
    /** The initializers emitted for each table (rewrite). */
    private final Map<QuantizedTable, Emitted> emitted = new IdentityHashMap<>();

    /**
     * @param selection         {@code --exclude} names Gathers to leave alone too
     * @param overridableInputs an initializer listed as a graph input is a default a caller may override (IR ≥ 4)
     */
    public EmbeddingQuantizationRule(LayerSelection selection, boolean overridableInputs) {
        this.selection = selection;
        this.overridableInputs = overridableInputs;
    }

    @Override public String name() { return NAME; }

    @Override
    public Match<Plan> match(Graph graph, NodeProto node) {
        if (!node.getOpType().equals("Gather") || !(node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx"))) return Match.notApplicable();
        if (node.getInputCount() != 2 || node.getOutputCount() != 1 || node.getInput(0).isEmpty()) return Match.notApplicable();
        String name = node.getInput(0);
        Graph owner = tableOwner(graph, name);
        if (owner == null) return Match.notApplicable();
        TensorProto t = owner.initializer(name).orElseThrow();
        String table = "table '" + name + "'";
        int type = t.getDataType();
        if (type == TensorProto.DataType.INT8_VALUE || type == TensorProto.DataType.UINT8_VALUE) {
            return Match.refused(Refusal.Code.ALREADY_QUANTIZED, table + " is an " + Tensors.typeName(type) + " initializer: already quantized, left as it is");
        }
        if (type != TensorProto.DataType.FLOAT_VALUE) {
            if (!FLOAT_TYPES.contains(type)) return Match.notApplicable();
            return Match.refused(Refusal.Code.WEIGHT_TYPE, table + " is " + Tensors.typeName(type)
                    + "; embedding quantization reads float32 tables only: left as it is");
        }
        if (selection.excludes(Graph.nameOf(node))) return Match.refused(Refusal.Code.EXCLUDED, "excluded by --exclude '" + selection.exclude().get().pattern() + "'");
        long numel = Tensors.numel(t);
        if (t.getDimsCount() != 2 || numel <= 0 || t.getDims(0) < 1 || t.getDims(1) < 1) {
            return Match.refused(Refusal.Code.WEIGHT_SHAPE, table + " has shape " + t.getDimsList()
                    + "; embedding quantization needs a [V, E] table with V, E >= 1: left as it is");
        }
        if (numel > Integer.MAX_VALUE - 8) {
            return Match.refused(Refusal.Code.WEIGHT_SHAPE, table + " has " + numel + " values; tables up to 2^31 values are quantized: left as it is");
        }
        long axis = Attrs.i(node, "axis", 0);
        if ((axis < 0 ? axis + 2 : axis) != 0) {
            return Match.refused(Refusal.Code.GATHER_AXIS, "Gather '" + Graph.nameOf(node) + "' reads " + table + " along axis " + axis
                    + " (columns); per-row scales need a row lookup (axis 0): left as it is");
        }
        if (isRowScaleLookup(graph, node)) {
            return Match.refused(Refusal.Code.ALREADY_QUANTIZED, table + " holds the row scales of a quantized embedding"
                    + " (Mul with Cast of a Gather of an int8 table): left as it is");
        }
        if (overridableInputs && owner.isOverridable(name)) {
            return Match.refused(Refusal.Code.OVERRIDABLE_WEIGHT, table + " is also a graph input, so a caller may replace it at run time;"
                    + " quantizing it would bake today's value in: left as it is");
        }
        if (ExternalWeights.isExternal(t)) {
            return Match.refused(Refusal.Code.EXTERNAL_DATA, table + " is stored as external data, which embedding quantization does not"
                    + " read: left as float");
        }
        Match<QuantizedTable> q = tables.computeIfAbsent(owner.scope() + "\u0000" + name, k -> quantize(owner, name, t));
        if (q instanceof Match.Refused<QuantizedTable> r) return new Match.Refused<>(r.refusal());
        return Match.planned(new Plan(node, ((Match.Planned<QuantizedTable>) q).plan()));
    }

    private static final Set<Integer> FLOAT_TYPES = Set.of(TensorProto.DataType.FLOAT16_VALUE, TensorProto.DataType.DOUBLE_VALUE,
            TensorProto.DataType.BFLOAT16_VALUE);

    private static Match<QuantizedTable> quantize(Graph owner, String name, TensorProto t) {
        float[] v = Tensors.floats(t);
        if (!RowQuantizer.allFinite(v)) {
            return Match.refused(Refusal.Code.NON_FINITE_WEIGHT, "table '" + name + "' holds NaN or an infinity, which has no int8 scale: left as it is");
        }
        int rows = (int) t.getDims(0), cols = (int) t.getDims(1);
        RowQuantizer.Quantized q = RowQuantizer.quantize(v, rows, cols);
        float max = 0f;
        for (float s : q.scales()) max = Math.max(max, s);
        return Match.planned(new QuantizedTable(name, owner, List.copyOf(t.getDimsList()), Tensors.intTensor(q.values(), false, rows, cols),
                Tensors.floatTensor(q.scales(), rows, 1), max));
    }

    /**
     * Whether {@code gather} is the row-scale lookup of an already quantized embedding: its only reader is a Mul whose
     * other operand is a Cast of a Gather, with the same indices, of an int8/uint8 initializer.
     */
    private boolean isRowScaleLookup(Graph graph, NodeProto gather) {
        List<NodeProto> readers = graph.consumers(gather.getOutput(0));
        if (readers.size() != 1 || graph.isGraphOutput(gather.getOutput(0))) return false;
        NodeProto mul = readers.get(0);
        if (!mul.getOpType().equals("Mul") || mul.getInputCount() != 2) return false;
        String other = mul.getInput(0).equals(gather.getOutput(0)) ? mul.getInput(1) : mul.getInput(0);
        NodeProto cast = graph.producer(other).orElse(null);
        if (cast == null || !cast.getOpType().equals("Cast") || cast.getInputCount() != 1) return false;
        NodeProto lookup = graph.producer(cast.getInput(0)).orElse(null);
        if (lookup == null || !lookup.getOpType().equals("Gather") || lookup.getInputCount() != 2 || !lookup.getInput(1).equals(gather.getInput(1))) return false;
        Graph owner = tableOwner(graph, lookup.getInput(0));
        if (owner == null) return false;
        int type = owner.initializer(lookup.getInput(0)).orElseThrow().getDataType();
        return type == TensorProto.DataType.INT8_VALUE || type == TensorProto.DataType.UINT8_VALUE;
    }

    /**
     * The graph whose initializer {@code tensor} names where {@code graph} reads it (its own, else the nearest enclosing
     * one not shadowed on the way), or null when it names no initializer.
     */
    static Graph tableOwner(Graph graph, String tensor) {
        return graph.definingGraph(tensor).filter(g -> g.producer(tensor).isEmpty()).orElse(null);
    }

    @Override
    public void rewrite(Plan plan, GraphEditor edit) {
        QuantizedTable t = plan.table();
        Emitted names = emitted.computeIfAbsent(t, k -> {
            GraphEditor owner = edit.model().graph(t.owner(), NAME);
            return new Emitted(owner.addInitializer(t.table() + "_int8", t.values()), owner.addInitializer(t.table() + "_row_scale", t.scales()));
        });
        NodeProto gather = plan.gather();
        String forNode = Graph.nameOf(gather);
        String indices = gather.getInput(1), out = gather.getOutput(0);
        String q = edit.fresh(out + "_int8"), f = edit.fresh(out + "_dequantized"), s = edit.fresh(out + "_row_scale");
        NodeProto lookup = edit.nodeReplacing(gather, "Gather", List.of(names.values(), indices), List.of(q),
                "was Gather of float table '" + t.table() + "'");
        NodeProto cast = edit.node("Cast", List.of(q), List.of(f), forNode, intAttr("to", TensorProto.DataType.FLOAT_VALUE));
        NodeProto scale = edit.node("Gather", List.of(names.scales(), indices), List.of(s), forNode);
        NodeProto mul = edit.node("Mul", List.of(f, s), List.of(out), forNode);
        edit.replace(gather, List.of(lookup, cast, scale, mul));
    }
}
