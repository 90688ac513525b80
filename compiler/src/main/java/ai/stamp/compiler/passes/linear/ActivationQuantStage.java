package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.ops.MixedPrecisionQdq;
import java.util.List;

/** Emits the per-token mixed-precision quantization: TokenPrecision gives each token its level count, MixedPrecisionQdq applies it. */
final class ActivationQuantStage {
    static final String NAME = "activation-quantization";

    private final GraphEditor edit;

    ActivationQuantStage(GraphEditor edit) { this.edit = edit; }

    /** Q(z) at the plan's bits per token. */
    String quantize(TokenPlan plan, String z, String activation, String forLayer, List<NodeProto> nodes) {
        String levels = edit.fresh(activation + "_stamp_levels");
        nodes.add(edit.call(plan.tokenPrecision(), List.of(z), List.of(levels), forLayer));
        String zq = edit.fresh(activation + "_stamp_q");
        nodes.add(edit.call(MixedPrecisionQdq.INSTANCE, List.of(z, levels), List.of(zq), forLayer));
        return zq;
    }
}
