package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.StampConfig;
import ai.stamp.ops.SequenceLayout;
import ai.stamp.ops.TokenPrecision;
import java.util.Arrays;
import java.util.Locale;

/**
 * How one layer's activation tokens are transformed and quantized: the sequence layout of its quantized
 * activation (IDENTITY for the matched-bit baseline), the bit-widths and the high-precision token count.
 *
 * @param transformed     layout of the transform (for BASELINE: the transform whose band size is matched)
 * @param coefficientBits energy allocation: bits of each in-block coefficient index (null: the fixed
 *                        sink + band / --hi-tokens rule); its length is the block size of {@code transformed}
 *                        (2^L, L = the allocator's chosen levels), the sink tokens stay at hiBits
 * @param averageBits     energy allocation: the plan's average bits at the budgeting sequence length (for the
 *                        matched baseline: the energy plan's average its hiTokens were matched to); NaN otherwise
 */
public record TokenPlan(StampConfig.Mode mode, SequenceLayout transformed, int hiBits, int loBits,
                        int hiTokens, String gridSource, int[] coefficientBits, double averageBits) {

    public TokenPlan {
        if (coefficientBits != null) {
            int b = transformed.blockSide();
            int b2 = transformed.is2d() ? b * b : b;
            if (coefficientBits.length != b2) {
                throw new IllegalArgumentException("bit table of " + coefficientBits.length + " entries for levels=" + transformed.levels()
                        + " (" + b2 + " tokens per block)");
            }
            if (mode == StampConfig.Mode.BASELINE) throw new IllegalArgumentException("a bit table needs the transformed layout, not the baseline");
            coefficientBits = coefficientBits.clone();
        }
    }

    /** A fixed-rule plan (no bit table). */
    public TokenPlan(StampConfig.Mode mode, SequenceLayout transformed, int hiBits, int loBits, int hiTokens, String gridSource,
                     int[] coefficientBits) {
        this(mode, transformed, hiBits, loBits, hiTokens, gridSource, coefficientBits, Double.NaN);
    }

    @Override public int[] coefficientBits() { return coefficientBits == null ? null : coefficientBits.clone(); }

    /** Plans with equal keys quantize a tensor identically (they may share one quantized tensor). */
    public String key() {
        return mode + "|" + transformed + "|" + hiBits + "/" + loBits + "/" + hiTokens + "|" + Arrays.toString(coefficientBits);
    }

    /** Whether the bits come from energy allocation (a per-coefficient table). */
    public boolean energyAllocated() { return coefficientBits != null; }

    public boolean transforms() { return mode != StampConfig.Mode.BASELINE; }

    public boolean quantizes() { return mode != StampConfig.Mode.TRANSFORM_ONLY; }

    /** The layout the quantizer sees. */
    public SequenceLayout quantizedLayout() { return transforms() ? transformed : transformed.identityOf(); }

    /** The op that gives each token of the quantized tensor its level count. */
    public TokenPrecision tokenPrecision() {
        if (coefficientBits != null) return TokenPrecision.withTable(quantizedLayout(), hiBits, coefficientBits);
        return new TokenPrecision(quantizedLayout(), hiBits, loBits, hiTokens);
    }

    public String describeTransform() {
        SequenceLayout l = transformed;
        String kind = l.sequenceTransform().id();
        return (transforms() ? kind : "identity (matched to " + kind + ")") + " levels=" + l.levels() + " sink=" + l.sinkTokens();
    }

    public String describeBits() {
        if (!quantizes()) return "no quantization";
        if (coefficientBits != null) {
            return "A energy L=" + transformed.levels() + " bits=" + Arrays.toString(coefficientBits).replace(" ", "")
                    + String.format(Locale.ROOT, " avg=%.2f", averageBits);
        }
        String fixed = "A" + hiBits + "/" + loBits + " hi-tokens=" + (hiTokens == 0 ? "sink+band" : Integer.toString(hiTokens));
        return Double.isNaN(averageBits) ? fixed : fixed + String.format(Locale.ROOT, " (matched to energy avg=%.2f)", averageBits);
    }
}
