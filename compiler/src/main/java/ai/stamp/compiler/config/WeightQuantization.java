package ai.stamp.compiler.config;

import ai.stamp.compiler.StampConfig;

/**
 * How each rewritten layer's weight is quantized.
 *
 * @param method RTN or GPTQ at 8 or 4 bits, or none
 * @param block  0: one scale per output channel; else the block size along the input dimension
 */
public record WeightQuantization(StampConfig.WeightQuant method, int block) {
    /** {@return whether weights are quantized at all} */
    public boolean enabled() { return method != StampConfig.WeightQuant.NONE; }
}
