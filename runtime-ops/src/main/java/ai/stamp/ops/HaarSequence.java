package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@code HaarSequence} (X -> Z): the L-level 1D Haar DWT along the token axis, in block layout.
 *
 * <p>X [lead..., S, D] becomes Z [M, T, D] (M = product of the lead dims). The first s = min(sink, S)
 * tokens pass unchanged; the other R tokens are zero-padded to nb·B (B = 2^L) and each block of B
 * consecutive tokens is replaced by H·block, H the B x B Haar matrix in standard order
 * ({@link HaarBasis#blockMatrix1d}). Because a level-j Haar coefficient only sees 2^j consecutive
 * tokens, this block layout is a permutation of the global standard order (see
 * {@link HaarBasis#standardPositions}); it lets the body be one Reshape and one MatMul with a constant
 * H instead of a Slice/Concat chain per level (measured on ORT CPU: ~3-4% overhead instead of ~15%).
 */
public final class HaarSequence implements StampOp {
    public static final String OP = "HaarSequence";

    private final int levels;
    private final int sinkTokens;

    public HaarSequence(int levels, int sinkTokens) {
        SequenceLayout.haar1d(levels, sinkTokens); // validates
        this.levels = levels;
        this.sinkTokens = sinkTokens;
    }

    public int levels() { return levels; }
    public int sinkTokens() { return sinkTokens; }

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP + SequenceLayout.haar1d(levels, sinkTokens).nameSuffix(); }
    @Override public List<String> inputs() { return List.of("X"); }
    @Override public List<String> outputs() { return List.of("Z"); }
    @Override public String describe() { return SequenceLayout.haar1d(levels, sinkTokens).describeGeometry(); }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = 1 << levels;
        SequenceBodies.Flat flat = SequenceBodies.flatten(d, "X");
        if (b == 1) { // levels 0: no transform, but the canonical rank-3 layout still applies
            d.output(flat.x3(), "Z");
        } else {
            SequenceBodies.Split split = SequenceBodies.split(d, flat.x3(), sinkTokens);
            String rest = split.rest();
            // pad = (B - R mod B) mod B = (-R) mod B with the divisor-sign Mod
            String r = d.slice(d.shape(rest), 0, 1, 2);
            String pad = d.modInt(d.neg(r), d.ints(b));
            String padded = d.padZeros(rest, d.concat(0, d.ints(0, 0, 0, 0), pad, d.ints(0)));
            String blocks = d.reshape(padded, d.concat(0, d.ints(0, -1, b), flat.dDim())); // [M, nb, B, D]
            String coef = SequenceBodies.blockMatMul(d, HaarBasis.blockMatrix1d(levels), b, blocks);
            String z = d.reshape(coef, d.shape(padded)); // [M, nb·B, D]
            d.output(SequenceBodies.join(d, split.sink(), z), "Z");
        }
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(in[0], levels, sinkTokens); }

    /** Reference kernel: X [lead..., S, D] -> Z [M, T, D]; double accumulation. */
    public static FloatTensor apply(FloatTensor x, int levels, int sinkTokens) {
        if (x.rank() < 2) throw new IllegalArgumentException("HaarSequence needs rank >= 2, got " + x);
        int m = (int) x.leadingCount(), s = (int) x.dim(-2), dd = (int) x.dim(-1);
        BlockGeometry g = BlockGeometry.of(SequenceLayout.haar1d(levels, sinkTokens), s);
        int b = g.blockSide(), t = g.transformedLength();
        float[] h = HaarBasis.blockMatrix1d(levels);
        float[] out = new float[m * t * dd];
        float[] in = x.data();
        for (int mi = 0; mi < m; mi++) {
            int xo = mi * s * dd, zo = mi * t * dd;
            System.arraycopy(in, xo, out, zo, g.sink() * dd);
            for (int blk = 0; blk < g.blocks(); blk++) {
                int base = g.sink() + blk * b;
                for (int c = 0; c < b; c++) {
                    for (int f = 0; f < dd; f++) {
                        double acc = 0;
                        for (int k = 0; k < b && base + k < s; k++) acc += (double) h[c * b + k] * in[xo + (base + k) * dd + f];
                        out[zo + (base + c) * dd + f] = (float) acc;
                    }
                }
            }
        }
        return new FloatTensor(out, new long[] {m, t, dd});
    }
}
