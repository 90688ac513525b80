package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * The inverse of {@link ChunkSequence} (Y, X, past -> out): sink rows pass, each block of the rest is multiplied by
 * Hᵀ (or passes, when the chunk was not transformed), the padding rows are cropped and X's lead dims restored.
 */
public final class ChunkSequenceInverse implements StampOp {
    private final SequenceTransform transform;
    private final SequenceLayout layout;

    public ChunkSequenceInverse(SequenceTransform transform) {
        if (transform.is2d()) throw new IllegalArgumentException(transform.id() + " is a 2D transform: chunked decoding is 1D only");
        this.transform = transform;
        this.layout = transform.layout();
    }

    public SequenceTransform transform() { return transform; }

    @Override public String opName() { return transform.opName() + "ChunkInverse"; }
    @Override public String functionName() { return opName() + layout.nameSuffix(); }
    @Override public List<String> inputs() { return List.of("Y", "X", "past"); }
    @Override public List<String> outputs() { return List.of("out"); }
    @Override public String describe() { return layout.describeGeometry() + " sink=position"; }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = transform.blockSide();
        SequenceBodies.Original orig = SequenceBodies.original(d, "X");
        String nDim = SequenceBodies.lastDim(d, "Y");
        if (b == 1) {
            d.output(SequenceBodies.unflatten(d, "Y", orig, nDim), "out");
        } else {
            ChunkBodies.Geometry g = ChunkBodies.of(d, transform.sinkTokens(), b, "past", orig.sDim());
            boolean sink = transform.sinkTokens() > 0;
            String rest = sink ? ChunkBodies.tokens(d, "Y", g.sink(), d.ints(OnnxDialect.END)) : "Y";
            String blocks = d.reshape(rest, d.concat(0, d.ints(0, -1), g.blockSide(), nDim)); // [M, nb, side, N]
            String inv = d.reshape(ChunkBodies.blockMatMul(d, transform.inverseBlockMatrix(), b, g, blocks), d.shape(rest));
            String cropped = ChunkBodies.tokens(d, inv, d.ints(0), g.rest());
            String out3 = sink ? d.concat(1, ChunkBodies.tokens(d, "Y", d.ints(0), g.sink()), cropped) : cropped;
            d.output(SequenceBodies.unflatten(d, out3, orig, nDim), "out");
        }
        return d.function(functionName(), inputs(), outputs(), opName() + " " + describe());
    }

    /** Inputs Y, X (read for its shape) and past (a 1-element tensor holding the count). */
    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(transform, in[0], in[1].shape(), (long) in[2].data()[0]); }

    /** Reference kernel: the fixed-sink {@link BlockSequenceInverse} kernel of this chunk's effective transform. */
    public static FloatTensor apply(SequenceTransform transform, FloatTensor y, long[] xShape, long past) {
        ChunkGeometry g = ChunkGeometry.of(transform, xShape[xShape.length - 2], past);
        return BlockSequenceInverse.apply(g.effective(transform), y, xShape);
    }
}
