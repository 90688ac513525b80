package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * The forward op of a 1D block {@link SequenceTransform} (X -> Z), in block layout; its op name comes
 * from the transform ({@code HaarSequence}, {@code DctSequence}, {@code WhtSequence}).
 *
 * <p>X [lead..., S, D] becomes Z [M, T, D] (M = product of the lead dims). The first s = min(sink, S)
 * tokens pass unchanged; the other R tokens are zero-padded to nb·B (B = 2^L) and each block of B
 * consecutive tokens is replaced by H·block, H the transform's B x B {@link SequenceTransform#blockMatrix}.
 * For Haar this block layout is a permutation of the global standard order (see
 * {@link HaarBasis#standardPositions}); it lets the body be one Reshape and one MatMul with a constant
 * H instead of a Slice/Concat chain per level (measured on ORT CPU: ~3-4% overhead instead of ~15%).
 * The sink tokens are split off and the rest padded by a single Pad (negative begin pad = drop the
 * sink, end pad = fill the last block), so X is copied once before the MatMul.
 */
public class BlockSequence implements StampOp {
    private final SequenceTransform transform;
    /** The transform as a layout, which the function name and description derive from. */
    private final SequenceLayout layout;

    public BlockSequence(SequenceTransform transform) {
        if (transform.is2d()) throw new IllegalArgumentException(transform.id() + " is a 2D transform, not a 1D block transform");
        this.transform = transform;
        this.layout = transform.layout();
    }

    public SequenceTransform transform() { return transform; }
    public int levels() { return transform.levels(); }
    public int sinkTokens() { return transform.sinkTokens(); }

    @Override public String opName() { return transform.opName(); }
    @Override public String functionName() { return opName() + layout.nameSuffix(); }
    @Override public List<String> inputs() { return List.of("X"); }
    @Override public List<String> outputs() { return List.of("Z"); }
    @Override public String describe() { return layout.describeGeometry(); }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = transform.blockSide();
        int sinkTokens = transform.sinkTokens();
        SequenceBodies.Flat flat = SequenceBodies.flatten(d, "X");
        if (b == 1) { // levels 0: no transform, but the canonical rank-3 layout still applies
            d.output(flat.x3(), "Z");
        } else {
            // One Pad both drops the sink tokens (negative begin pad, supported by ORT at opset 11) and
            // zero-pads the rest to nb·B: pad = (B - R mod B) mod B = (s - S) mod B with the divisor-sign
            // Mod, s = min(sink, S). It replaces Slice(rest) + Pad, one full copy of X less.
            // Without sink tokens nb >= 1 for every S >= 1, so the MatMul needs no empty-batch guard.
            // Measured (TransformOverheadBench, ORT CPU 1 thread, L=3, 256x384->1536, sink 1; ORT profile
            // per run): Slice 30-39 us + Pad 24-29 us before, one Pad 33-39 us now; forward body 32 -> 33
            // nodes (sink 1), 29 -> 23 (sink 0).
            String sDim = d.slice(flat.shape(), 0, -2, -1);
            String sinkRows = sinkTokens == 0 ? null : d.slice(flat.x3(), 1, 0, sinkTokens);
            String padded;
            if (sinkTokens == 0) {
                String pad = d.modInt(d.neg(sDim), d.ints(b));
                padded = d.padZeros(flat.x3(), d.concat(0, d.ints(0, 0, 0, 0), pad, d.ints(0)));
            } else {
                String s = SequenceBodies.sinkCount(d, sinkTokens, sDim);
                String pad = d.modInt(d.sub(s, sDim), d.ints(b));
                padded = d.padZeros(flat.x3(), d.concat(0, d.ints(0), d.neg(s), d.ints(0, 0), pad, d.ints(0)));
            }
            String blocks = d.reshape(padded, d.concat(0, d.ints(0, -1, b), flat.dDim())); // [M, nb, B, D]
            String coef = SequenceBodies.blockMatMul(d, transform.blockMatrix(), b, blocks, sinkTokens > 0);
            String z = d.reshape(coef, d.shape(padded)); // [M, nb·B, D]
            d.output(SequenceBodies.join(d, sinkRows, z), "Z");
        }
        return d.function(functionName(), inputs(), outputs(), opName() + " " + describe());
    }

    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(transform, in[0]); }

    /**
     * Reference kernel: X [lead..., S, D] -> Z [M, T, D]; double accumulation, terms added in ascending k
     * (bit-identical to the per-element loop, see {@link BlockKernels}). Zero entries of the matrix (most
     * of Haar's) are skipped; a dense matrix (DCT, WHT) simply has none to skip.
     */
    public static FloatTensor apply(SequenceTransform transform, FloatTensor x) {
        if (x.rank() < 2) throw new IllegalArgumentException(transform.opName() + " needs rank >= 2, got " + x);
        if (transform.is2d()) throw new IllegalArgumentException(transform.id() + " is a 2D transform, not a 1D block transform");
        int m = (int) x.leadingCount(), s = (int) x.dim(-2), dd = (int) x.dim(-1);
        BlockGeometry g = BlockGeometry.of(transform, s);
        int b = g.blockSide(), t = g.transformedLength();
        BlockKernels.Sparse h = BlockKernels.Sparse.of(transform.blockMatrix(), b);
        float[] out = new float[m * t * dd];
        float[] in = x.data();
        int[] rowOff = new int[b];
        double[] acc = new double[dd];
        for (int mi = 0; mi < m; mi++) {
            int xo = mi * s * dd, zo = mi * t * dd;
            System.arraycopy(in, xo, out, zo, g.sink() * dd);
            for (int blk = 0; blk < g.blocks(); blk++) {
                int base = g.sink() + blk * b;
                for (int k = 0; k < b; k++) rowOff[k] = base + k < s ? xo + (base + k) * dd : -1;
                BlockKernels.block(h, in, rowOff, dd, out, zo + base * dd, acc);
            }
        }
        return new FloatTensor(out, new long[] {m, t, dd});
    }
}
