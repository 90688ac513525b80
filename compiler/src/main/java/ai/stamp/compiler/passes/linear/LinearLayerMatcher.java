package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.OpSets;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.Refusal;
import ai.stamp.ops.FloatType;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Finds linear layers: MatMul/Gemm with a constant second operand and an activation of shape [..., S, D] with a
 * real sequence axis. Never mutates; every refusal has a code and says why. Other ops are not applicable.
 */
public final class LinearLayerMatcher {
    /** Ops that remove the sequence axis: what follows them is one vector per sample. */
    private static final Set<String> POOLING = Set.of("GlobalAveragePool", "GlobalMaxPool", "Flatten", "Squeeze");

    private final LayerSelection selection;

    public LinearLayerMatcher(LayerSelection selection) { this.selection = selection; }

    /** Whether the node is a MatMul or Gemm at all: only those are matched or reported. */
    public static boolean isCandidate(NodeProto node) {
        return (node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx"))
                && (node.getOpType().equals("MatMul") || node.getOpType().equals("Gemm"));
    }

    public Match<LinearLayer> match(Graph graph, NodeProto node) {
        if (!isCandidate(node)) return Match.notApplicable();
        if (node.getInputCount() < 2) return Match.refused(Refusal.Code.MALFORMED, "has fewer than two inputs");
        if (node.getOutputCount() != 1 || node.getOutput(0).isEmpty()) {
            return Match.refused(Refusal.Code.MALFORMED, "has " + node.getOutputCount() + " outputs, a MatMul/Gemm has one (malformed node)");
        }
        String x = node.getInput(0);
        String w = node.getInput(1);
        if (!graph.isConstant(w)) {
            return Match.refused(Refusal.Code.RUNTIME_OPERAND, "second operand '" + w + "' is computed at run time (activation x activation, e.g. attention): not a linear layer");
        }
        if (graph.isConstant(x)) return Match.refused(Refusal.Code.CONSTANT_INPUTS, "both operands are constants: nothing runs at inference time");
        if (selection.excludes(Graph.nameOf(node))) {
            return Match.refused(Refusal.Code.EXCLUDED, "excluded by --exclude '" + selection.exclude().get().pattern() + "'");
        }
        int elementType = LayerElementType.of(graph, x, w);
        if (LayerElementType.isInteger(elementType)) {
            return Match.refused(Refusal.Code.ELEMENT_TYPE, "computes on " + LayerElementType.name(elementType)
                    + " tensors: integer arithmetic (indices, shapes), not a float linear layer to quantize");
        }
        if (elementType == ai.onnx.proto.OnnxMl.TensorProto.DataType.BFLOAT16_VALUE) {
            return Match.refused(Refusal.Code.ELEMENT_TYPE, "computes in bfloat16, which is not supported: ONNX Runtime's CPU provider has"
                    + " no bfloat16 MatMul, Pad or Mul kernels, so the inserted ops could not be checked there; layer left alone");
        }
        Optional<FloatType> type = LayerElementType.floatType(elementType);
        if (type.isEmpty()) {
            return Match.refused(Refusal.Code.ELEMENT_TYPE, "computes in " + LayerElementType.name(elementType)
                    + ", not float16, float32 or float64: layer left alone");
        }
        boolean gemm = node.getOpType().equals("Gemm");
        if (gemm && Attrs.i(node, "transA", 0) != 0) {
            return Match.refused(Refusal.Code.TRANSPOSED_ACTIVATION, "Gemm with transA=1: its rows are features, not tokens");
        }
        long[] wShape = graph.shapes().of(w).orElse(null);
        if (wShape == null) return Match.refused(Refusal.Code.WEIGHT_SHAPE, "shape of weight '" + w + "' is unknown");
        if (wShape.length != 2) return Match.refused(Refusal.Code.WEIGHT_SHAPE, "weight has rank " + wShape.length + ", a linear layer needs rank 2");
        if (wShape[0] <= 0 || wShape[1] <= 0) {
            return Match.refused(Refusal.Code.WEIGHT_SHAPE, "weight '" + w + "' has shape " + Arrays.toString(wShape) + " with an empty axis");
        }
        boolean transB = gemm && Attrs.i(node, "transB", 0) != 0;
        List<Long> wDN = transB ? List.of(wShape[1], wShape[0]) : List.of(wShape[0], wShape[1]);
        long[] xShape = graph.shapes().of(x).orElse(null);
        if (xShape != null && xShape.length < 2) {
            return Match.refused(Refusal.Code.NO_SEQUENCE, "activation has rank " + xShape.length + ": no sequence axis");
        }
        if (xShape != null && Arrays.stream(xShape).anyMatch(d -> d >= Integer.MAX_VALUE)) {
            return Match.refused(Refusal.Code.NO_SEQUENCE, "activation shape " + Arrays.toString(xShape) + " has an axis of 2^31 or more: not supported");
        }
        if (xShape != null && Arrays.stream(xShape).anyMatch(d -> d == 0)) {
            return Match.refused(Refusal.Code.NO_SEQUENCE, "activation shape " + Arrays.toString(xShape) + " has an empty axis: nothing to transform");
        }
        if (xShape != null && xShape[xShape.length - 1] > 0 && xShape[xShape.length - 1] != wDN.get(0)) {
            return Match.refused(Refusal.Code.SHAPE_MISMATCH, "activation feature size " + xShape[xShape.length - 1] + " (shape " + Arrays.toString(xShape)
                    + ") does not match the weight's " + wDN.get(0) + " rows: inconsistent shapes");
        }
        if (xShape != null && xShape[xShape.length - 2] == 1) {
            return Match.refused(Refusal.Code.NO_SEQUENCE, "sequence length is 1 (shape " + Arrays.toString(xShape) + "): nothing to transform");
        }
        Optional<String> pooled = pooledOrigin(graph, x, xShape);
        if (pooled.isPresent()) {
            return Match.refused(Refusal.Code.NO_SEQUENCE, "activation is a pooled vector (after " + pooled.get() + "): no sequence axis");
        }
        Optional<String> bias = gemm && node.getInputCount() > 2 && !node.getInput(2).isEmpty() ? Optional.of(node.getInput(2)) : Optional.empty();
        return Match.planned(new LinearLayer(graph, node, x, w, transB, Attrs.f(node, "alpha", 1f), bias,
                Attrs.f(node, "beta", 1f), xShape, wDN, type.get()));
    }

    /** A rank-2 activation reached from a pooling op (or a scalar Gather on the token axis) is one vector per sample. */
    private static Optional<String> pooledOrigin(Graph graph, String x, long[] xShape) {
        if (xShape != null && xShape.length != 2) return Optional.empty();
        String t = x;
        for (int depth = 0; depth < 8; depth++) {
            Optional<NodeProto> p = graph.producer(t);
            if (p.isEmpty()) return Optional.empty();
            NodeProto n = p.get();
            String op = n.getOpType();
            if (POOLING.contains(op)) return Optional.of(op + " '" + Graph.nameOf(n) + "'");
            if (n.getInputCount() == 0) return Optional.empty();
            if (op.equals("Gather") && n.getInputCount() > 1 && graph.shapes().of(n.getInput(1)).map(s -> s.length == 0).orElse(false)) {
                return Optional.of("Gather of one token '" + Graph.nameOf(n) + "'");
            }
            if (op.startsWith("Reduce") && Attrs.i(n, "keepdims", 1) == 0) return Optional.of(op + " '" + Graph.nameOf(n) + "'");
            // a pooled vector stays one vector per sample through element-wise ops (activations, norms, residuals)
            if (!OpSets.ELEMENTWISE_UNARY.contains(op) && !OpSets.ELEMENTWISE_BROADCAST.contains(op)) return Optional.empty();
            t = n.getInput(0);
        }
        return Optional.empty();
    }
}
