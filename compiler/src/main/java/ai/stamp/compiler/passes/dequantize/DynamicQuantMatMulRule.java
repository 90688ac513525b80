package ai.stamp.compiler.passes.dequantize;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.ConstantValues;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.quant.Dequantization;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * onnxruntime {@code quantize_dynamic} back to float: {@code DynamicQuantizeLinear(x) -> (xq, xs, xzp)},
 * {@code MatMulInteger(xq, Wq, xzp[, wzp]) -> Cast(float) -> Mul(., Mul(xs, wscale))} becomes
 * {@code MatMul(x, W)} with {@code W = (Wq - wzp) * wscale} (per-tensor or per-column), under the MatMulInteger's
 * name so {@code --exclude} and reports still find it.
 */
final class DynamicQuantMatMulRule implements Rule<DynamicQuantMatMulRule.Plan> {
    static final String NAME = "dequantize-weights/dynamic";

    /**
     * @param removed     the MatMulInteger, Cast, Mul (and the scale Mul when nothing else reads it), in that order
     * @param weight      the float weight, unnamed
     * @param freedInputs initializers only the removed nodes read (dropped when nothing else does)
     */
    record Plan(NodeProto matMulInteger, NodeProto quantizer, NodeProto outputMul, List<NodeProto> removed, TensorProto weight,
                List<String> freedInputs) implements WeightRestore {}

    private final LayerSelection selection;

    DynamicQuantMatMulRule(LayerSelection selection) { this.selection = selection; }

    @Override public String name() { return NAME; }

    @Override
    public Match<Plan> match(Graph graph, NodeProto mmi) {
        if (!mmi.getOpType().equals("MatMulInteger") || !mmi.getDomain().isEmpty() || selection.excludes(Graph.nameOf(mmi))) return Match.notApplicable();
        if (mmi.getInputCount() < 2 || mmi.getOutputCount() != 1) return Match.notApplicable();
        NodeProto dql = graph.producer(mmi.getInput(0)).orElse(null);
        if (dql == null || !dql.getOpType().equals("DynamicQuantizeLinear") || dql.getOutputCount() < 3) return Match.notApplicable();
        // without the quantizer's zero point MatMulInteger multiplies the raw uint8 codes: not x W, so no float MatMul
        if (mmi.getInputCount() < 3 || mmi.getInput(2).isEmpty() || !mmi.getInput(2).equals(dql.getOutput(2))) return Match.notApplicable();
        Optional<TensorProto> wq = graph.initializer(mmi.getInput(1));
        if (wq.isEmpty() || wq.get().getDimsCount() != 2) return Match.notApplicable();
        TensorProto wzp = null;
        if (mmi.getInputCount() > 3 && !mmi.getInput(3).isEmpty()) {
            wzp = ConstantValues.tensor(graph, mmi.getInput(3)).orElse(null);
            if (wzp == null) return Match.notApplicable();
        }
        NodeProto cast = sole(graph, mmi.getOutput(0));
        if (cast == null || cast.getOutputCount() != 1 || !cast.getOpType().equals("Cast") || Attrs.i(cast, "to", 0) != TensorProto.DataType.FLOAT_VALUE) {
            return Match.notApplicable();
        }
        NodeProto mul = sole(graph, cast.getOutput(0));
        if (mul == null || !mul.getOpType().equals("Mul") || mul.getInputCount() != 2 || mul.getOutputCount() != 1) return Match.notApplicable();
        String scaleTensor = mul.getInput(0).equals(cast.getOutput(0)) ? mul.getInput(1) : mul.getInput(0);
        NodeProto scaleMul = graph.producer(scaleTensor).orElse(null);
        if (scaleMul == null || !scaleMul.getOpType().equals("Mul") || scaleMul.getInputCount() != 2 || scaleMul.getOutputCount() != 1) {
            return Match.notApplicable();
        }
        String wScaleName;
        if (scaleMul.getInput(0).equals(dql.getOutput(1))) wScaleName = scaleMul.getInput(1);
        else if (scaleMul.getInput(1).equals(dql.getOutput(1))) wScaleName = scaleMul.getInput(0);
        else return Match.notApplicable();
        Optional<TensorProto> wScale = ConstantValues.tensor(graph, wScaleName);
        if (wScale.isEmpty()) return Match.notApplicable();
        // per-tensor scale, or per column N: axis 1 of Wq [K, N]
        Optional<float[]> w = Dequantization.dequantize(wq.get(), wScale.get(), wzp, 1);
        if (w.isEmpty()) return Match.notApplicable();
        boolean scaleMulShared = graph.consumers(scaleMul.getOutput(0)).size() > 1 || graph.isGraphOutput(scaleMul.getOutput(0));
        List<NodeProto> removed = new ArrayList<>(List.of(mmi, cast, mul));
        List<String> freed = new ArrayList<>(List.of(mmi.getInput(1)));
        if (wzp != null) freed.add(mmi.getInput(3));
        if (!scaleMulShared) {
            removed.add(scaleMul);
            freed.add(wScaleName);
        }
        return Match.planned(new Plan(mmi, dql, mul, List.copyOf(removed), Tensors.floatTensor(w.get(), wq.get().getDimsList()), List.copyOf(freed)));
    }

    @Override
    public void rewrite(Plan plan, GraphEditor edit) {
        NodeProto mmi = plan.matMulInteger();
        String wName = edit.addInitializer(mmi.getInput(1) + "_dequantized", plan.weight());
        NodeProto matmul = edit.nodeReplacing(mmi, "MatMul", List.of(plan.quantizer().getInput(0), wName), List.of(plan.outputMul().getOutput(0)),
                "was DynamicQuantizeLinear + MatMulInteger '" + Graph.nameOf(mmi) + "'");
        for (NodeProto n : plan.removed()) edit.replace(n, n == plan.outputMul() ? List.of(matmul) : List.of());
    }

    private static NodeProto sole(Graph graph, String tensor) {
        List<NodeProto> c = graph.consumers(tensor);
        return c.size() == 1 && !graph.isGraphOutput(tensor) ? c.get(0) : null;
    }
}
