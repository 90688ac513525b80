package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.StampReport;
import ai.stamp.ops.FloatType;

/**
 * Everything the linear-layer rule will do to one layer, decided before any node is emitted: the prepared input
 * (shared with the other readers of the same activation), the weight, and the report line.
 */
public record LayerPlan(LinearLayer layer, InputPlan input, WeightPlan weight) {
    public TokenPlan tokens() { return input.tokens(); }

    /** The report's line for this layer. */
    public StampReport.Layer report() {
        String features = input.features().detail();
        String extra = features.isEmpty() || weight.detail().isEmpty() ? features + weight.detail() : features + "; " + weight.detail();
        String bits = tokens().describeBits();
        if (layer.type() != FloatType.FLOAT) {
            // float32 lines stay as they were; another type says where its ops compute
            bits += "; " + layer.type().label() + " layer: transforms at " + layer.type().label()
                    + (tokens().quantizes() ? ", activation quantization in float32" : "");
        }
        return new StampReport.Layer(layer.name(), layer.node().getOpType(), layer.graph().path(), layer.activation(), layer.output(),
                layer.weightShape(), tokens().describeTransform(), tokens().gridSource(), extra.isEmpty() ? bits : bits + "; " + extra);
    }
}
