package ai.stamp.compiler.config;

import ai.stamp.compiler.StampConfig;

/**
 * The bit-widths of the quantized activation's tokens.
 *
 * @param hiBits     the sink and the high-precision tokens
 * @param loBits     every other token
 * @param hiTokens   a fixed count of high-precision tokens, sink included; 0 = sink + approximation band
 * @param allocation the fixed rule, or energy allocation from calibration
 * @param avgBits    energy allocation's budget of average bits per token (NaN otherwise)
 */
public record ActivationPrecision(int hiBits, int loBits, int hiTokens, StampConfig.Allocation allocation, double avgBits) {}
