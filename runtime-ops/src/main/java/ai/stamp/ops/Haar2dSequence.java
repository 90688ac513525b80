package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@code Haar2dSequence} (X -> Z): the L-level 2D pyramid Haar DWT of a token grid, in block layout.
 *
 * <p>After the s = min(sink, S) sink tokens, the R = S - s tokens are a row-major Hg x Wg grid (Hg is
 * the static {@code gridHeight}, Wg = R / Hg is read at run time). The grid is zero-padded at the
 * bottom/right to multiples of B = 2^L, cut into B x B blocks ordered row-major (bh, bw), and each
 * block's B² tokens (row-major) are replaced by K·vec(block), K the 2D Haar matrix in standard order
 * ({@link HaarBasis#blockMatrix2d}; band naming LH/HL documented there). Z = [M, s + nbh·nbw·B², D].
 * As in 1D, the block layout is a permutation of the global standard order and costs one Transpose
 * and one MatMul.
 */
public final class Haar2dSequence implements StampOp {
    public static final String OP = "Haar2dSequence";

    private final int levels;
    private final int sinkTokens;
    private final int gridHeight;
    private final Haar2dTransform transform;
    /** The same geometry as a layout, which the function name and description derive from. */
    private final SequenceLayout layout;

    public Haar2dSequence(int levels, int sinkTokens, int gridHeight) {
        this.transform = new Haar2dTransform(levels, sinkTokens, gridHeight); // validates the geometry
        this.layout = transform.layout();
        this.levels = levels;
        this.sinkTokens = sinkTokens;
        this.gridHeight = gridHeight;
    }

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP + layout.nameSuffix(); }
    @Override public List<String> inputs() { return List.of("X"); }
    @Override public List<String> outputs() { return List.of("Z"); }
    @Override public String describe() { return layout.describeGeometry(); }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = 1 << levels, b2 = b * b;
        int nbh = BlockGeometry.ceilDiv(gridHeight, b);
        SequenceBodies.Flat flat = SequenceBodies.flatten(d, "X");
        SequenceBodies.Split split = SequenceBodies.split(d, flat.x3(), sinkTokens);
        String dDim = flat.dDim();
        String grid = d.reshape(split.rest(), d.concat(0, d.ints(0, gridHeight, -1), dDim)); // [M, Hg, Wg, D]
        String wg = d.slice(d.shape(grid), 0, 2, 3);
        String padW = d.modInt(d.neg(wg), d.ints(b)); // (-Wg) mod B
        long padH = (long) nbh * b - gridHeight;      // static
        String padded = d.padZeros(grid, d.concat(0, d.ints(0, 0, 0, 0, 0, padH), padW, d.ints(0)));
        String six = d.reshape(padded, d.concat(0, d.ints(0, nbh, b, -1, b), dDim)); // [M, nbh, B, nbw, B, D]
        String blocksFirst = d.transpose(six, 0, 1, 3, 2, 4, 5);                      // [M, nbh, nbw, B, B, D]
        String blocks = d.reshape(blocksFirst, d.concat(0, d.ints(0, -1, b2), dDim)); // [M, nb, B², D]
        String coef = SequenceBodies.blockMatMul(d, transform.blockMatrix(), b2, blocks);
        String z = d.reshape(coef, d.concat(0, d.ints(0, -1), dDim));
        d.output(SequenceBodies.join(d, split.sink(), z), "Z");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(in[0], levels, sinkTokens, gridHeight); }

    /**
     * Reference kernel: X [lead..., S, D] -> Z [M, T, D]; double accumulation, terms added in ascending
     * order (bit-identical to the per-element loop over the zero-padded block, see {@link BlockKernels}).
     */
    public static FloatTensor apply(FloatTensor x, int levels, int sinkTokens, int gridHeight) {
        if (x.rank() < 2) throw new IllegalArgumentException("Haar2dSequence needs rank >= 2, got " + x);
        int m = (int) x.leadingCount(), s = (int) x.dim(-2), dd = (int) x.dim(-1);
        BlockGeometry g = BlockGeometry.of(new Haar2dTransform(levels, sinkTokens, gridHeight), s);
        int b = g.blockSide(), b2 = g.blockTokens(), t = g.transformedLength();
        BlockKernels.Sparse k = BlockKernels.Sparse.of(HaarBasis.blockMatrix2d(levels), b2);
        float[] out = new float[m * t * dd];
        float[] in = x.data();
        int[] rowOff = new int[b2];
        double[] acc = new double[dd];
        for (int mi = 0; mi < m; mi++) {
            int xo = mi * s * dd, zo = mi * t * dd;
            System.arraycopy(in, xo, out, zo, g.sink() * dd);
            for (int bh = 0; bh < g.nbh(); bh++) {
                for (int bw = 0; bw < g.nbw(); bw++) {
                    int base = g.sink() + (bh * g.nbw() + bw) * b2;
                    for (int y = 0; y < b; y++) {
                        for (int xx = 0; xx < b; xx++) {
                            int r = bh * b + y, c = bw * b + xx;
                            boolean inside = r < g.gridH() && c < g.gridW();
                            rowOff[y * b + xx] = inside ? xo + (g.sink() + r * g.gridW() + c) * dd : -1;
                        }
                    }
                    BlockKernels.block(k, in, rowOff, dd, out, zo + base * dd, acc);
                }
            }
        }
        return new FloatTensor(out, new long[] {m, t, dd});
    }
}
