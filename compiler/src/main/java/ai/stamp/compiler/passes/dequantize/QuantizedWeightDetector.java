package ai.stamp.compiler.passes.dequantize;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.ir.ConstantValues;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.OpSets;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.compiler.ir.Tensors;
import java.util.Optional;
import java.util.Set;

/**
 * Detects weights and nodes that are already quantized, so the linear-layer pass leaves them alone (or, with
 * {@code --dequantize-weights}, {@link DequantizeWeightsPass} turns them back into float first):
 * <ul>
 *   <li>a linear layer whose weight is {@code DequantizeLinear} of an integer constant (QDQ weights), or a
 *       {@code Cast} of an integer initializer: the layer is skipped with an "already quantized" reason;</li>
 *   <li>integer matmul nodes ({@code MatMulInteger}, {@code QLinearMatMul}, {@code MatMulNBits}, ...): they are not
 *       MatMul/Gemm and never rewritten, but they are listed in the report's skipped list with the reason (with
 *       {@code --dequantize-weights}, the quantize_dynamic MatMulInteger chain and MatMulNBits of constants become
 *       float MatMuls first; the ones left are the forms it does not support).</li>
 * </ul>
 * Models written by {@code stamp-onnx --weights} also carry DequantizeLinear weights, but they import the
 * {@code ai.stamp} domain and are refused earlier ({@link OpsetCheck}).
 */
public final class QuantizedWeightDetector {
    /** Ops that compute a matrix product on already-quantized (integer) operands. */
    static final Set<String> INTEGER_MATMULS = Set.of("MatMulInteger", "QLinearMatMul", "MatMulNBits",
            "DynamicQuantizeMatMul", "QGemm", "MatMulIntegerToFloat", "QAttention");
    static final String HINT = "use --dequantize-weights to turn it back into float and rewrite it";

    private QuantizedWeightDetector() {}

    static boolean isIntegerType(int dataType) {
        return dataType == TensorProto.DataType.INT8_VALUE || dataType == TensorProto.DataType.UINT8_VALUE
                || dataType == TensorProto.DataType.INT4_VALUE || dataType == TensorProto.DataType.UINT4_VALUE
                || dataType == TensorProto.DataType.INT16_VALUE || dataType == TensorProto.DataType.UINT16_VALUE;
    }

    /**
     * How the constant {@code weight} is already quantized ("weight 'W' is DequantizeLinear 'dq' of int8 constant
     * 'Wq'"), or empty when it is a plain float constant.
     */
    public static Optional<String> describeWeight(Graph graph, String weight) {
        String t = weight;
        for (int depth = 0; depth < 8; depth++) {
            Optional<TensorProto> init = graph.initializer(t);
            if (init.isPresent()) {
                int type = init.get().getDataType();
                if (!isIntegerType(type)) return Optional.empty();
                return Optional.of(t.equals(weight) ? "weight '" + weight + "' is an " + Tensors.typeName(type) + " initializer"
                        : "weight '" + weight + "' is computed from " + Tensors.typeName(type) + " initializer '" + t + "'");
            }
            Optional<NodeProto> p = graph.producer(t);
            if (p.isEmpty()) return Optional.empty();
            NodeProto n = p.get();
            if (n.getOpType().equals("DequantizeLinear") && n.getInputCount() > 0) {
                Optional<TensorProto> q = ConstantValues.tensor(graph, n.getInput(0));
                String type = q.map(x -> Tensors.typeName(x.getDataType())).orElse("integer");
                return Optional.of("weight '" + weight + "' is DequantizeLinear '" + Graph.nameOf(n) + "' of " + type + " constant '" + n.getInput(0) + "'");
            }
            if (!OpSets.WEIGHT_PATH.contains(n.getOpType()) || n.getInputCount() == 0) return Optional.empty();
            t = n.getInput(0);
        }
        return Optional.empty();
    }

    /** The skip reason of a matched linear layer whose weight is already quantized, or empty. */
    public static Optional<String> skipReason(Graph graph, String weight, boolean dequantizeRequested) {
        return describeWeight(graph, weight).map(d -> "already quantized: " + d + "; "
                + (dequantizeRequested ? "--dequantize-weights does not support this form (supported: DequantizeLinear of an int8/uint8 "
                        + "initializer with float per-tensor or per-axis scale), weight left as it is" : HINT));
    }

    /** Whether {@code node} is an integer matmul (MatMulInteger, QLinearMatMul, MatMulNBits, ...). */
    public static boolean isIntegerMatMul(NodeProto node) {
        return INTEGER_MATMULS.contains(node.getOpType())
                && (node.getDomain().isEmpty() || node.getDomain().equals("ai.onnx") || node.getDomain().equals("com.microsoft"));
    }

    /** The report's skip reason for an integer matmul node that is still in the graph. */
    public static String integerMatMulReason(NodeProto node, boolean dequantizeRequested) {
        String what = "already quantized: " + node.getOpType() + " computes on integer operands";
        if (node.getOpType().equals("MatMulNBits")) {
            return what + (dequantizeRequested
                    ? "; --dequantize-weights converts MatMulNBits only with bits 4 or 8, a power-of-two block_size >= 16, constant B, "
                            + "float/float16 scales, uint8 zero points (or float ones with 4 bits) matching K and N, and no g_idx; this one is not of that form (not supported)"
                    : "; use --dequantize-weights to turn MatMulNBits back into a float MatMul and rewrite it");
        }
        if (!node.getOpType().equals("MatMulInteger")) return what + "; not supported by stamp-onnx (even with --dequantize-weights)";
        return what + (dequantizeRequested
                ? "; not the DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(scale) pattern with constant weight, so --dequantize-weights cannot convert it (not supported)"
                : "; use --dequantize-weights to turn DynamicQuantizeLinear + MatMulInteger back into a float MatMul and rewrite it");
    }
}
