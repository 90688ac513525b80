package ai.stamp.compiler;

import ai.stamp.ops.SequenceLayout;
import ai.stamp.ops.TokenPrecision;

/**
 * What the rule will insert for one linear layer: the sequence layout of its quantized activation
 * (IDENTITY for the matched-bit baseline), the bit-widths and the high-precision token count.
 *
 * @param transformed     layout of the transform (for BASELINE: the transform whose band size is matched)
 * @param coefficientBits energy allocation: bits of each in-block coefficient index (null: the fixed
 *                        sink + band / --hi-tokens rule)
 */
public record LayerPlan(LinearLayer layer, StampConfig.Mode mode, SequenceLayout transformed, int hiBits, int loBits,
                        int hiTokens, String gridSource, int[] coefficientBits) {

    public boolean transforms() { return mode != StampConfig.Mode.BASELINE; }

    public boolean quantizes() { return mode != StampConfig.Mode.TRANSFORM_ONLY; }

    /** The layout the quantizer sees. */
    public SequenceLayout quantizedLayout() { return transforms() ? transformed : transformed.identityOf(); }

    /** The op that gives each token of the quantized tensor its level count. */
    public TokenPrecision tokenPrecision() {
        return new TokenPrecision(quantizedLayout(), hiBits, loBits, hiTokens);
    }

    public String describeTransform() {
        SequenceLayout l = transformed;
        String kind = switch (l.transform()) {
            case HAAR_1D -> "haar";
            case HAAR_2D -> "haar2d";
            case IDENTITY -> "identity";
        };
        return (transforms() ? kind : "identity (matched to " + kind + ")") + " levels=" + l.levels() + " sink=" + l.sinkTokens();
    }

    public String describeBits() {
        if (!quantizes()) return "no quantization";
        return "A" + hiBits + "/" + loBits + " hi-tokens=" + (hiTokens == 0 ? "sink+band" : Integer.toString(hiTokens));
    }
}
