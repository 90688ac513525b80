package ai.stamp.compiler.config;

import ai.stamp.compiler.StampConfig;

/**
 * The feature-axis transforms in front of a layer: X diag(1/s) R, with R^T diag(s) folded into the weight.
 *
 * @param rotation    the rotation R
 * @param smoothAlpha SmoothQuant's migration strength in [0, 1]; negative = off
 */
public record FeatureTransforms(StampConfig.Rotation rotation, double smoothAlpha) {
    /** {@return whether SmoothQuant is on} */
    public boolean smooth() { return smoothAlpha >= 0; }

    /** {@return whether a rotation is applied} */
    public boolean rotates() { return rotation != StampConfig.Rotation.NONE; }

    /** {@return whether either transform is on (they change the layer's weight)} */
    public boolean any() { return smooth() || rotates(); }
}
