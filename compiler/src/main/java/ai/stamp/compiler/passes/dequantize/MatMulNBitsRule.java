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

/**
 * onnxruntime's blocked n-bit weights back to float: a com.microsoft {@code MatMulNBits(A, B, scales[, zero_points[,
 * g_idx[, bias]]])} (attributes K, N, bits 4 or 8, block_size) whose B, scales and zero points are constants becomes
 * {@code MatMul(A, W)} (then {@code Add(., bias)} when it has a bias) under its name, with W the [K, N] weight
 * dequantized exactly as ONNX Runtime does ({@link Dequantization#matMulNBits}); float16 scales give a float16 W.
 * Not applicable (the linear-layer pass then reports the node as already quantized): a g_idx input, other bits, a
 * block size that is not a power of two ≥ 16, run-time B/scales/zero points, shapes that disagree with K and N,
 * float zero points with 8 bits (ONNX Runtime 1.24 has no CPU kernel for them, so the result could not be checked).
 * Every accepted form is checked against ONNX Runtime's own MatMulNBits in {@code MatMulNBitsRuleTest}.
 */
final class MatMulNBitsRule implements Rule<MatMulNBitsRule.Plan> {
    static final String NAME = "dequantize-weights/nbits";

    /**
     * @param weight      the [K, N] weight (float, or float16 with float16 scales), unnamed
     * @param bias        the bias input's name, or empty
     * @param freedInputs B, scales and zero points (dropped when nothing else reads them)
     */
    record Plan(NodeProto node, TensorProto weight, String bias, List<String> freedInputs) implements WeightRestore {}

    private final LayerSelection selection;

    MatMulNBitsRule(LayerSelection selection) { this.selection = selection; }

    @Override public String name() { return NAME; }

    static boolean isMatMulNBits(NodeProto node) { return node.getOpType().equals("MatMulNBits") && node.getDomain().equals("com.microsoft"); }

    private static boolean present(NodeProto node, int input) { return node.getInputCount() > input && !node.getInput(input).isEmpty(); }

    @Override
    public Match<Plan> match(Graph graph, NodeProto node) {
        if (!isMatMulNBits(node) || selection.excludes(Graph.nameOf(node))) return Match.notApplicable();
        if (node.getInputCount() < 3 || node.getInputCount() > 6 || node.getOutputCount() != 1 || present(node, 4)) return Match.notApplicable();
        long k = Attrs.i(node, "K", 0), n = Attrs.i(node, "N", 0), bits = Attrs.i(node, "bits", 4), blockSize = Attrs.i(node, "block_size", 0);
        if (k <= 0 || n <= 0 || (bits != 4 && bits != 8) || blockSize < 16 || Long.bitCount(blockSize) != 1) return Match.notApplicable();
        if (k * n > Integer.MAX_VALUE - 8) return Match.notApplicable();
        long kBlocks = (k + blockSize - 1) / blockSize;
        long blob = blockSize * bits / 8;
        TensorProto b = ConstantValues.tensor(graph, node.getInput(1)).orElse(null);
        TensorProto scale = ConstantValues.tensor(graph, node.getInput(2)).orElse(null);
        if (b == null || scale == null || b.getDataType() != TensorProto.DataType.UINT8_VALUE || !Tensors.isFloatingPoint(scale.getDataType())
                || scale.getDataType() == TensorProto.DataType.DOUBLE_VALUE) {
            return Match.notApplicable();
        }
        if (b.getDataLocation() == TensorProto.DataLocation.EXTERNAL || Tensors.numel(b) != n * kBlocks * blob) return Match.notApplicable();
        int[] bv = Tensors.readBytes(b, TensorProto.DataType.UINT8_VALUE).orElse(null);
        float[] s = Tensors.readAsFloats(scale).orElse(null);
        if (bv == null || s == null || s.length != n * kBlocks) return Match.notApplicable();
        int[] packedZp = null;
        float[] floatZp = null;
        if (present(node, 3)) {
            TensorProto zp = ConstantValues.tensor(graph, node.getInput(3)).orElse(null);
            if (zp == null || zp.getDataLocation() == TensorProto.DataLocation.EXTERNAL) return Match.notApplicable();
            if (zp.getDataType() == TensorProto.DataType.UINT8_VALUE) {
                packedZp = Tensors.readBytes(zp, TensorProto.DataType.UINT8_VALUE).orElse(null);
                if (packedZp == null || packedZp.length != n * ((kBlocks * bits + 7) / 8)) return Match.notApplicable();
            } else if (zp.getDataType() == scale.getDataType() && bits == 4) {
                floatZp = Tensors.readAsFloats(zp).orElse(null);
                if (floatZp == null || floatZp.length != n * kBlocks) return Match.notApplicable();
            } else {
                return Match.notApplicable();
            }
        }
        float[] w = Dequantization.matMulNBits(bv, (int) k, (int) n, (int) bits, (int) blockSize, s, packedZp, floatZp);
        TensorProto weight = scale.getDataType() == TensorProto.DataType.FLOAT16_VALUE ? Tensors.float16Tensor(w, k, n) : Tensors.floatTensor(w, k, n);
        List<String> freed = new ArrayList<>(List.of(node.getInput(1), node.getInput(2)));
        if (present(node, 3)) freed.add(node.getInput(3));
        return Match.planned(new Plan(node, weight, present(node, 5) ? node.getInput(5) : "", List.copyOf(freed)));
    }

    @Override
    public void rewrite(Plan plan, GraphEditor edit) {
        NodeProto node = plan.node();
        String wName = edit.addInitializer(node.getInput(1) + "_dequantized", plan.weight());
        String note = "was MatMulNBits '" + Graph.nameOf(node) + "' (" + Attrs.i(node, "bits", 4) + "-bit, block " + Attrs.i(node, "block_size", 0) + ")";
        String out = node.getOutput(0);
        if (plan.bias().isEmpty()) {
            edit.replace(node, List.of(edit.nodeReplacing(node, "MatMul", List.of(node.getInput(0), wName), List.of(out), note)));
            return;
        }
        String product = edit.fresh(out + "_matmul");
        NodeProto matmul = edit.nodeReplacing(node, "MatMul", List.of(node.getInput(0), wName), List.of(product), note);
        NodeProto add = edit.node("Add", List.of(product, plan.bias()), List.of(out), Graph.nameOf(node));
        edit.replace(node, List.of(matmul, add));
    }
}
