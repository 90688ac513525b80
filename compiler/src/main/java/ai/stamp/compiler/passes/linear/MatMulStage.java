package ai.stamp.compiler.passes.linear;

import static ai.stamp.ops.OnnxDialect.intsAttr;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.ops.FloatType;
import ai.stamp.ops.FloatTypedOp;
import ai.stamp.ops.ScaledMatMulInteger;
import ai.stamp.ops.StampOp;
import java.util.List;

/**
 * Emits the layer's product: {@code MatMul(prepared input, weight)}, then L^T when the input is still in
 * coefficients, then Gemm's alpha and bias. The bias is added after the inverse (it is not a token-mixing op), so
 * the layer's output keeps its name and its readers are untouched.
 */
final class MatMulStage {
    static final String NAME = "matmul";

    private final GraphEditor edit;
    private final SequenceTransformStage sequence;
    private final ScaledMatMulInteger.Form productForm;

    /** {@code form}: how the integer GEMM's body is spelled (decided per model: --portable). */
    MatMulStage(GraphEditor edit, SequenceTransformStage sequence, ScaledMatMulInteger.Form form) {
        this.edit = edit;
        this.sequence = sequence;
        this.productForm = form;
    }

    /** A stored-transposed Gemm weight (transB = 1) as the [D, N] tensor the MatMul reads. */
    String transposed(String weight, String forLayer, List<NodeProto> nodes) {
        String wt = edit.fresh(weight + "_T");
        nodes.add(edit.node("Transpose", List.of(weight), List.of(wt), forLayer, intsAttr("perm", 1, 0)));
        return wt;
    }

    /** The float product of the prepared input and the weight, then the inverse (if on this side) and the tail. */
    void emit(LayerPlan plan, String input, String weight, List<NodeProto> nodes) {
        emit(plan, nodes, out -> nodes.add(edit.node("MatMul", List.of(input, weight), List.of(out), plan.layer().name())));
    }

    /** As {@link #emit(LayerPlan, String, String, List)} with the integer GEMM of docs/method.md#integer-form as the product. */
    void emitInteger(LayerPlan plan, ActivationQuantStage.Quantized input, WeightStage.Emitted weight, List<NodeProto> nodes) {
        StampOp product = FloatTypedOp.scaledMatMulInteger(productForm, plan.layer().type());
        emit(plan, nodes, out -> nodes.add(edit.call(product, List.of(input.values(), input.scale(), input.zeroPoint(),
                weight.tensor(), weight.columnSums(), weight.scales()), List.of(out), plan.layer().name())));
    }

    private void emit(LayerPlan plan, List<NodeProto> nodes, java.util.function.Consumer<String> product) {
        LinearLayer layer = plan.layer();
        String name = layer.name();
        boolean needsTail = layer.bias().isPresent() || layer.alpha() != 1f;
        String finalOut = layer.output();
        String linearOut = needsTail ? edit.fresh(finalOut + "_linear") : finalOut;
        if (plan.tokens().transforms() && !plan.input().inverseFirst()) {
            String mm = edit.fresh(finalOut + "_coeffs");
            product.accept(mm);
            sequence.inverse(plan.tokens(), layer.type(), mm, layer.activation(), linearOut, name, nodes);
        } else {
            product.accept(linearOut);
        }
        if (needsTail) emitGemmTail(layer, linearOut, finalOut, nodes);
    }

    /** Gemm's alpha and C, applied after the inverse transform. */
    private void emitGemmTail(LinearLayer layer, String linearOut, String finalOut, List<NodeProto> nodes) {
        String name = layer.name();
        String acc = linearOut;
        if (layer.alpha() != 1f) {
            String scaled = layer.bias().isPresent() ? edit.fresh(finalOut + "_alpha") : finalOut;
            nodes.add(edit.node("Mul", List.of(acc, scalar(layer.alpha(), layer.type(), name, nodes)), List.of(scaled), name));
            acc = scaled;
        }
        if (layer.bias().isPresent()) {
            String c = layer.bias().get();
            if (layer.beta() != 1f) {
                String scaledC = edit.fresh(c + "_beta");
                nodes.add(edit.node("Mul", List.of(c, scalar(layer.beta(), layer.type(), name, nodes)), List.of(scaledC), name));
                c = scaledC;
            }
            nodes.add(edit.node("Add", List.of(acc, c), List.of(finalOut), name));
        }
    }

    /** A scalar Constant at the layer's type (Mul needs both operands of one type). */
    private String scalar(float value, FloatType type, String forLayer, List<NodeProto> nodes) {
        String out = edit.fresh(forLayer + "/stamp/const");
        OnnxMl.TensorProto t = type == FloatType.FLOAT
                ? OnnxMl.TensorProto.newBuilder().setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).addFloatData(value).build()
                : type.tensor(new float[] {value});
        nodes.add(edit.node("Constant", List.of(), List.of(out), forLayer,
                OnnxMl.AttributeProto.newBuilder().setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(t).build()));
        return out;
    }
}
