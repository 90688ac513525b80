package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.ops.FloatType;
import ai.stamp.ops.FloatTypedOp;
import ai.stamp.ops.MixedPrecisionQuantize;
import java.util.List;

/**
 * Emits the per-token mixed-precision quantization: TokenPrecision gives each token its level count, then
 * MixedPrecisionQdq applies it in float (simulation), or MixedPrecisionQuantize keeps the integers (integer GEMM).
 * For a float16 / float64 layer both compute in float32 inside ({@link FloatTypedOp}); the level counts are float32.
 */
final class ActivationQuantStage {
    static final String NAME = "activation-quantization";

    private final GraphEditor edit;
    private final MixedPrecisionQuantize.Form form;

    private final Chunking chunking;

    /** {@code form}: how the integer quantizer's body is spelled (decided per model: opset, --portable). */
    ActivationQuantStage(GraphEditor edit, MixedPrecisionQuantize.Form form, Chunking chunking) {
        this.edit = edit;
        this.form = form;
        this.chunking = chunking;
    }

    /** Q(z) at the plan's bits per token, in float. */
    String quantize(TokenPlan plan, FloatType type, String z, String activation, String forLayer, List<NodeProto> nodes) {
        String levels = levels(plan, z, activation, forLayer, nodes);
        String zq = edit.fresh(activation + "_stamp_q");
        nodes.add(edit.call(FloatTypedOp.qdq(type), List.of(z, levels), List.of(zq), forLayer));
        return zq;
    }

    /** The integers of Q(z): uint8 values with their per-token scale and zero point. */
    record Quantized(String values, String scale, String zeroPoint) {}

    Quantized quantizeToInteger(TokenPlan plan, FloatType type, String z, String activation, String forLayer, List<NodeProto> nodes) {
        String levels = levels(plan, z, activation, forLayer, nodes);
        Quantized q = new Quantized(edit.fresh(activation + "_stamp_u8"), edit.fresh(activation + "_stamp_scale"), edit.fresh(activation + "_stamp_zp"));
        nodes.add(edit.call(FloatTypedOp.quantize(form, type), List.of(z, levels), List.of(q.values(), q.scale(), q.zeroPoint()), forLayer));
        return q;
    }

    private String levels(TokenPlan plan, String z, String activation, String forLayer, List<NodeProto> nodes) {
        String levels = edit.fresh(activation + "_stamp_levels");
        if (chunking.applies(plan)) {
            nodes.add(edit.call(plan.tokenPrecision().chunked(), List.of(z, chunking.past()), List.of(levels), forLayer));
        } else {
            nodes.add(edit.call(plan.tokenPrecision(), List.of(z), List.of(levels), forLayer));
        }
        return levels;
    }
}
