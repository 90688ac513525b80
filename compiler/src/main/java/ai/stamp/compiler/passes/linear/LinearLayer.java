package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.ops.FloatType;
import java.util.List;
import java.util.Optional;

/**
 * A matched linear layer {@code Y = X W (+ C)}: a MatMul, or a Gemm with transA = 0, whose weight is a
 * constant. {@code weightShape} is W as used, [D, N] (after Gemm's transB); {@code type} is what X, W and Y are, and
 * what every op inserted for the layer computes at.
 */
public record LinearLayer(Graph graph, NodeProto node, String activation, String weight, boolean transposeWeight,
                          float alpha, Optional<String> bias, float beta, long[] activationShape, List<Long> weightShape, FloatType type) {

    public String name() { return Graph.nameOf(node); }

    public String output() { return node.getOutput(0); }

    /** The weight's feature size D (rows of W as used). */
    public int features() { return (int) (long) weightShape.get(0); }

    /** The weight's output size N (columns of W as used). */
    public int outputs() { return (int) (long) weightShape.get(1); }

    /** Static sequence length (axis -2 of X) or -1 when dynamic/unknown. */
    public long sequenceLength() {
        return activationShape == null || activationShape.length < 2 ? -1 : activationShape[activationShape.length - 2];
    }
}
