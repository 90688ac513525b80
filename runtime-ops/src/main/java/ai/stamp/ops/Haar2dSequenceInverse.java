package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@code Haar2dSequenceInverse} (Y, X -> out): undoes {@link Haar2dSequence} after a linear layer.
 * Mirrors the forward body: each block times Kᵀ, blocks back into the padded grid, crop to Hg x Wg
 * (Wg from X's shape), flatten, re-attach the sink rows and restore X's lead dims.
 */
public final class Haar2dSequenceInverse implements StampOp {
    public static final String OP = "Haar2dSequenceInverse";

    private final int levels;
    private final int sinkTokens;
    private final int gridHeight;
    private final Haar2dTransform transform;
    /** The same geometry as a layout, which the function name and description derive from. */
    private final SequenceLayout layout;

    public Haar2dSequenceInverse(int levels, int sinkTokens, int gridHeight) {
        this.transform = new Haar2dTransform(levels, sinkTokens, gridHeight); // validates the geometry
        this.layout = transform.layout();
        this.levels = levels;
        this.sinkTokens = sinkTokens;
        this.gridHeight = gridHeight;
    }

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP + layout.nameSuffix(); }
    @Override public List<String> inputs() { return List.of("Y", "X"); }
    @Override public List<String> outputs() { return List.of("out"); }
    @Override public String describe() { return layout.describeGeometry(); }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = 1 << levels, b2 = b * b;
        int nbh = BlockGeometry.ceilDiv(gridHeight, b);
        SequenceBodies.Original orig = SequenceBodies.original(d, "X");
        String nDim = SequenceBodies.lastDim(d, "Y");
        SequenceBodies.Split split = SequenceBodies.split(d, "Y", sinkTokens);
        String blocks = d.reshape(split.rest(), d.concat(0, d.ints(0, -1, b2), nDim)); // [M, nb, B², N]
        String inv = SequenceBodies.blockMatMul(d, transform.inverseBlockMatrix(), b2, blocks);
        String six = d.reshape(inv, d.concat(0, d.ints(0, nbh, -1, b, b), nDim));   // [M, nbh, nbw, B, B, N]
        String rowsFirst = d.transpose(six, 0, 1, 3, 2, 4, 5);                      // [M, nbh, B, nbw, B, N]
        String grid = d.reshape(rowsFirst, d.concat(0, d.ints(0, (long) nbh * b, -1), nDim)); // padded grid
        // Wg = (S - sink) / Hg; when S < sink the grid is empty and any end crops to empty
        String rest = sinkTokens == 0 ? orig.sDim() : d.sub(orig.sDim(), d.ints(sinkTokens));
        String wg = d.div(rest, d.ints(gridHeight));
        String cropped = d.op("Slice", grid, d.ints(0, 0), d.concat(0, d.ints(gridHeight), wg), d.ints(1, 2));
        String flat = d.reshape(cropped, d.concat(0, d.ints(0, -1), nDim));
        String out3 = SequenceBodies.join(d, split.sink(), flat);
        d.output(SequenceBodies.unflatten(d, out3, orig, nDim), "out");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(in[0], in[1].shape(), levels, sinkTokens, gridHeight); }

    /** Reference kernel: Y [M, T, N] and the forward input's shape -> [lead..., S, N]. */
    public static FloatTensor apply(FloatTensor y, long[] xShape, int levels, int sinkTokens, int gridHeight) {
        int s = (int) xShape[xShape.length - 2];
        BlockGeometry g = BlockGeometry.of(new Haar2dTransform(levels, sinkTokens, gridHeight), s);
        int b = g.blockSide(), b2 = g.blockTokens(), t = g.transformedLength();
        int m = (int) y.leadingCount(), n = (int) y.dim(-1);
        if (y.dim(-2) != t) throw new IllegalArgumentException("Y has " + y.dim(-2) + " tokens, expected " + t);
        float[] k = HaarBasis.blockMatrix2d(levels);
        float[] out = new float[m * s * n];
        float[] in = y.data();
        for (int mi = 0; mi < m; mi++) {
            int yo = mi * t * n, oo = mi * s * n;
            System.arraycopy(in, yo, out, oo, g.sink() * n);
            for (int bh = 0; bh < g.nbh(); bh++) {
                for (int bw = 0; bw < g.nbw(); bw++) {
                    int base = g.sink() + (bh * g.nbw() + bw) * b2;
                    for (int yy = 0; yy < b; yy++) {
                        for (int xx = 0; xx < b; xx++) {
                            int r = bh * b + yy, c = bw * b + xx;
                            if (r >= g.gridH() || c >= g.gridW()) continue; // padding: cropped
                            int kk = yy * b + xx;
                            for (int f = 0; f < n; f++) {
                                double acc = 0;
                                for (int co = 0; co < b2; co++) acc += (double) k[co * b2 + kk] * in[yo + (base + co) * n + f];
                                out[oo + (g.sink() + r * g.gridW() + c) * n + f] = (float) acc;
                            }
                        }
                    }
                }
            }
        }
        long[] shape = xShape.clone();
        shape[shape.length - 1] = n;
        return new FloatTensor(out, shape);
    }
}
