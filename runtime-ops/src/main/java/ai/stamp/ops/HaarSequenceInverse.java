package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@code HaarSequenceInverse} (Y, X -> out): undoes {@link HaarSequence} after a linear layer.
 *
 * <p>Y [M, T, N] is HaarSequence(X) multiplied by a [D, N] weight; X is the forward op's own input,
 * read only for its shape. Sink rows pass, each block is multiplied by Hᵀ (H is orthogonal), the
 * padding rows are cropped and the lead dims of X are restored: out [lead..., S, N] = X·W up to
 * rounding. Taking X (not a static S) keeps the op valid for any sequence length at run time.
 */
public final class HaarSequenceInverse implements StampOp {
    public static final String OP = "HaarSequenceInverse";

    private final int levels;
    private final int sinkTokens;

    public HaarSequenceInverse(int levels, int sinkTokens) {
        SequenceLayout.haar1d(levels, sinkTokens);
        this.levels = levels;
        this.sinkTokens = sinkTokens;
    }

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP + SequenceLayout.haar1d(levels, sinkTokens).nameSuffix(); }
    @Override public List<String> inputs() { return List.of("Y", "X"); }
    @Override public List<String> outputs() { return List.of("out"); }
    @Override public String describe() { return SequenceLayout.haar1d(levels, sinkTokens).describeGeometry(); }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = 1 << levels;
        SequenceBodies.Original orig = SequenceBodies.original(d, "X");
        String nDim = SequenceBodies.lastDim(d, "Y");
        String out3;
        if (b == 1) {
            out3 = "Y"; // levels 0: T == S, nothing to undo but the lead dims
        } else {
            SequenceBodies.Split split = SequenceBodies.split(d, "Y", sinkTokens);
            String rest = split.rest();
            String blocks = d.reshape(rest, d.concat(0, d.ints(0, -1, b), nDim)); // [M, nb, B, N]
            String inv = SequenceBodies.blockMatMul(d, HaarBasis.transpose(HaarBasis.blockMatrix1d(levels), b), b, blocks);
            String flat = d.reshape(inv, d.shape(rest));
            // keep R = S - sink rows; when S < sink the rest is empty and any end gives empty
            String kept = sinkTokens == 0 ? orig.sDim() : d.sub(orig.sDim(), d.ints(sinkTokens));
            out3 = SequenceBodies.join(d, split.sink(), d.sliceTo(flat, 1, 0, kept));
        }
        d.output(SequenceBodies.unflatten(d, out3, orig, nDim), "out");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(in[0], in[1].shape(), levels, sinkTokens); }

    /** Reference kernel: Y [M, T, N] and the forward input's shape -> [lead..., S, N]. */
    public static FloatTensor apply(FloatTensor y, long[] xShape, int levels, int sinkTokens) {
        int s = (int) xShape[xShape.length - 2];
        BlockGeometry g = BlockGeometry.of(SequenceLayout.haar1d(levels, sinkTokens), s);
        int b = g.blockSide(), t = g.transformedLength();
        int m = (int) y.leadingCount(), n = (int) y.dim(-1);
        if (y.dim(-2) != t) throw new IllegalArgumentException("Y has " + y.dim(-2) + " tokens, expected " + t);
        float[] h = HaarBasis.blockMatrix1d(levels);
        float[] out = new float[m * s * n];
        float[] in = y.data();
        for (int mi = 0; mi < m; mi++) {
            int yo = mi * t * n, oo = mi * s * n;
            System.arraycopy(in, yo, out, oo, g.sink() * n);
            for (int blk = 0; blk < g.blocks(); blk++) {
                int base = g.sink() + blk * b;
                for (int k = 0; k < b && base + k < s; k++) {
                    for (int f = 0; f < n; f++) {
                        double acc = 0;
                        for (int c = 0; c < b; c++) acc += (double) h[c * b + k] * in[yo + (base + c) * n + f];
                        out[oo + (base + k) * n + f] = (float) acc;
                    }
                }
            }
        }
        long[] shape = xShape.clone();
        shape[shape.length - 1] = n;
        return new FloatTensor(out, shape);
    }
}
