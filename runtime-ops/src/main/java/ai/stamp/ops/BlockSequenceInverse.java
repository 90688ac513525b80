package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * The inverse op of a 1D block {@link SequenceTransform} (Y, X -> out): undoes {@link BlockSequence}
 * after a linear layer; its op name is the transform's op name plus "Inverse" (e.g.
 * {@code HaarSequenceInverse}, {@code DctSequenceInverse}).
 *
 * <p>Y [M, T, N] is the forward op's Z multiplied by a [D, N] weight; X is the forward op's own input,
 * read only for its shape. Sink rows pass, each block is multiplied by Hᵀ (H is orthogonal), the
 * padding rows are cropped and the lead dims of X are restored: out [lead..., S, N] = X·W up to
 * rounding. Taking X (not a static S) keeps the op valid for any sequence length at run time.
 *
 * <p>Body (the semantics above are unchanged; only the data movement is): with sink tokens Y is padded
 * at the front so that the sink rows fill whole blocks that go through identity blocks of the same
 * batched MatMul (see {@code sinkInverse}); the lead dims are restored before the final crop, so the
 * crop Slice writes the output and no trailing Reshape copies it. Measured (Haar) with
 * {@code ai.stamp.tools.bench.TransformOverheadBench --no-spin} (ORT CPU, 2 intra-op threads without
 * spinning, L=3, opset 11, median of 200 interleaved per-round ratios forward+inverse / bare MatMul;
 * two runs, old body -> this one):
 * 256x384->1536 sink 1: 1.33-1.34 -> 1.25-1.26, sink 0: 1.23-1.32 -> 1.18-1.24;
 * 256x1536->384 sink 1: 1.34-1.36 -> 1.27, sink 0: 1.21-1.22 -> 1.18-1.20;
 * 2048x1024->1024 sink 1: 1.19-1.21 -> 1.14-1.16, sink 0: 1.11-1.12 -> 1.09-1.10.
 * With 1 thread: 256x384->1536 sink 1 1.224 -> 1.201. ORT profile (1 thread, 256x384->1536, sink 1),
 * inverse data ops per run: Slice 95 + MatMul 174 + Slice 59 + Concat 54 + Reshape 114 us before;
 * Pad 118 + MatMul 171 + Slice 116 us now. The rest of the overhead is the Haar MatMuls themselves
 * (memory bound, ~one pass each) and ~3 us per small shape node.
 */
public class BlockSequenceInverse implements StampOp {
    private final SequenceTransform transform;
    /** The transform as a layout, which the function name and description derive from. */
    private final SequenceLayout layout;

    public BlockSequenceInverse(SequenceTransform transform) {
        if (transform.is2d()) throw new IllegalArgumentException(transform.id() + " is a 2D transform, not a 1D block transform");
        this.transform = transform;
        this.layout = transform.layout();
    }

    public SequenceTransform transform() { return transform; }

    @Override public String opName() { return transform.opName() + "Inverse"; }
    @Override public String functionName() { return opName() + layout.nameSuffix(); }
    @Override public List<String> inputs() { return List.of("Y", "X"); }
    @Override public List<String> outputs() { return List.of("out"); }
    @Override public String describe() { return layout.describeGeometry(); }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = transform.blockSide();
        SequenceBodies.Original orig = SequenceBodies.original(d, "X");
        String yShape = d.shape("Y");
        String nDim = d.slice(yShape, 0, -1, OnnxDialect.END);
        if (b == 1) { // levels 0: T == S, nothing to undo but the lead dims
            d.output(SequenceBodies.unflatten(d, "Y", orig, nDim), "out");
        } else if (transform.sinkTokens() == 0) {
            String blocks = d.reshape("Y", d.concat(0, d.ints(0, -1, b), nDim)); // [M, nb, B, N]
            String inv = SequenceBodies.blockMatMul(d, transform.inverseBlockMatrix(), b, blocks, false);
            // lead dims first, then crop the padding rows: the Slice is the last node and writes the
            // output itself (a trailing Reshape was a full extra copy, ~4% at S=256, N=1536)
            d.output(d.sliceTo(SequenceBodies.unflatten(d, inv, orig, nDim), -2, 0, orig.sDim()), "out");
        } else {
            d.output(sinkInverse(d, orig, yShape, nDim, b), "out");
        }
        return d.function(functionName(), inputs(), outputs(), opName() + " " + describe());
    }

    /**
     * With sink tokens, Y is not cut into sink and rest: it is zero-padded at the FRONT by
     * f = (-sink) mod B rows so that the sink rows fill k0 = ceil(sink / B) whole blocks, and every block
     * goes through one MatMul with a per-block matrix [1, nb, B, B] = k0 identities then Hᵀ repeated
     * (an edge-mode Pad of the constant [I..., Hᵀ], negative when there are fewer blocks). One Slice
     * [f, f + S) then drops the front and the end padding. The data is copied twice (Pad, Slice) instead
     * of three times (Slice rest, crop Slice, Concat with the sink rows).
     * When S < sink, T = S and an end pad e = (-(f + T)) mod B completes the last block (else e = 0).
     */
    private String sinkInverse(OnnxDialect d, SequenceBodies.Original orig, String yShape, String nDim, int b) {
        int sinkTokens = transform.sinkTokens();
        int k0 = (sinkTokens + b - 1) / b, f = k0 * b - sinkTokens;
        // end pads [0, e, 0] = ([0, -f, 0] - [M, T, N]) mod [1, B, 1] straight from the shape vector
        String ends = d.modInt(d.sub(d.ints(0, -f, 0), yShape), d.ints(1, b, 1));
        String padded = d.padZeros("Y", d.concat(0, d.ints(0, f, 0), ends));
        String blocks = d.reshape(padded, d.concat(0, d.ints(0, -1, b), nDim)); // [M, nb, B, N]
        float[] h = transform.inverseBlockMatrix();
        float[] stack = new float[(k0 + 1) * b * b];
        for (int k = 0; k < k0; k++) {
            for (int i = 0; i < b; i++) stack[k * b * b + i * b + i] = 1f;
        }
        System.arraycopy(h, 0, stack, k0 * b * b, b * b);
        String extra = d.sub(d.slice(d.shape(blocks), 0, 1, 2), d.ints(k0 + 1));
        String m = d.padEdge(d.floats(stack, 1, k0 + 1, b, b), d.concat(0, d.ints(0, 0, 0, 0, 0), extra, d.ints(0, 0)));
        String inv = SequenceBodies.unflatten(d, d.matmul(m, blocks), orig, nDim); // lead + [nb·B, N]
        return d.op("Slice", inv, d.ints(f), d.sub(orig.sDim(), d.ints(-f)), d.ints(-2));
    }

    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(transform, in[0], in[1].shape()); }

    /** Reference kernel: Y [M, T, N] and the forward input's shape -> [lead..., S, N]. */
    public static FloatTensor apply(SequenceTransform transform, FloatTensor y, long[] xShape) {
        if (transform.is2d()) throw new IllegalArgumentException(transform.id() + " is a 2D transform, not a 1D block transform");
        int s = (int) xShape[xShape.length - 2];
        BlockGeometry g = BlockGeometry.of(transform, s);
        int b = g.blockSide(), t = g.transformedLength();
        int m = (int) y.leadingCount(), n = (int) y.dim(-1);
        if (y.dim(-2) != t) throw new IllegalArgumentException("Y has " + y.dim(-2) + " tokens, expected " + t);
        float[] h = transform.blockMatrix();
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
