package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.StampConfig;
import java.util.Optional;

/**
 * The feature transforms in front of one layer: X diag(1/s) R for the activation, R^T diag(s) W for the weight.
 *
 * @param smoothing the SmoothQuant decision for the layer's input, when it smooths this layer
 * @param rotation  the rotation kind when it applies to this layer (empty: none)
 * @param features  D, the size of R
 * @param detail    for the report ("" when both transforms are off)
 */
public record FeaturePlan(Optional<SmoothingPlanner.Decision> smoothing, Optional<StampConfig.Rotation> rotation, int features, String detail) {
    public static final FeaturePlan NONE = new FeaturePlan(Optional.empty(), Optional.empty(), 0, "");

    public boolean isIdentity() { return smoothing.isEmpty() && rotation.isEmpty(); }

    /** Tells apart transformed inputs of one activation: "", "|smooth", "|rot" or "|smooth|rot". */
    public String shareKey() { return (smoothing.isPresent() ? "|smooth" : "") + (rotation.isPresent() ? "|rot" : ""); }
}
