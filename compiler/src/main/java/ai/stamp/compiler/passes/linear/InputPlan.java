package ai.stamp.compiler.passes.linear;

import ai.stamp.ops.FloatType;

/**
 * The tensor a layer's MatMul reads, prepared from its activation X: feature transforms, then the sequence
 * transform L, the per-token quantization and, with the inverse on the input side, L^T. Layers whose plans share
 * one InputPlan (the same object: Q, K and V reading one X) read one prepared tensor, emitted once.
 *
 * @param activation   X
 * @param type         X's float type, which the inserted ops compute at
 * @param features     the feature transforms applied to X
 * @param tokens       how the tokens are transformed and quantized
 * @param inverseFirst L^T runs on the input side, so the MatMul reads tokens, not coefficients
 * @param integer      the quantized coefficients stay integers (uint8, per-token scale and zero point) for an integer GEMM
 */
public record InputPlan(String activation, FloatType type, FeaturePlan features, TokenPlan tokens, boolean inverseFirst, boolean integer) {
    public InputPlan {
        if (integer && (inverseFirst || !tokens.quantizes())) throw new IllegalArgumentException("an integer input is quantized coefficients");
    }

    /** Inputs with equal keys are the same tensor. */
    String key() {
        return activation + "|" + tokens.key() + features.shareKey() + (inverseFirst ? "|inverse-first" : "") + (integer ? "|integer" : "");
    }
}
