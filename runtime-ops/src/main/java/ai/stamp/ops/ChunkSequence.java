package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * The forward op of a 1D block {@link SequenceTransform} for one chunk of a decoder's sequence (X, past -> Z): as
 * {@link BlockSequence}, but with the sink as a position and short chunks left untransformed ({@link ChunkGeometry}).
 * {@code past} is the 1-element int64 count of tokens before this chunk (the KV cache's length). Its op name is the
 * transform's op name plus "Chunk" (e.g. {@code HaarSequenceChunk}).
 *
 * <p>The body slices sink and rest apart and concatenates them again (the encoder op's single-Pad trick needs a
 * static sink): two more copies of X than {@link BlockSequence}, accepted for decoders, whose prefill is one call.
 */
public final class ChunkSequence implements StampOp {
    private final SequenceTransform transform;
    private final SequenceLayout layout;

    public ChunkSequence(SequenceTransform transform) {
        if (transform.is2d()) throw new IllegalArgumentException(transform.id() + " is a 2D transform: chunked decoding is 1D only");
        this.transform = transform;
        this.layout = transform.layout();
    }

    public SequenceTransform transform() { return transform; }

    @Override public String opName() { return transform.opName() + "Chunk"; }
    @Override public String functionName() { return opName() + layout.nameSuffix(); }
    @Override public List<String> inputs() { return List.of("X", "past"); }
    @Override public List<String> outputs() { return List.of("Z"); }
    @Override public String describe() { return layout.describeGeometry() + " sink=position"; }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = transform.blockSide();
        SequenceBodies.Flat flat = SequenceBodies.flatten(d, "X");
        if (b == 1) {
            d.output(flat.x3(), "Z");
        } else {
            String sDim = d.slice(flat.shape(), 0, -2, -1);
            ChunkBodies.Geometry g = ChunkBodies.of(d, transform.sinkTokens(), b, "past", sDim);
            boolean sink = transform.sinkTokens() > 0;
            String rest = sink ? ChunkBodies.tokens(d, flat.x3(), g.sink(), d.ints(OnnxDialect.END)) : flat.x3();
            String pad = d.modInt(d.neg(g.rest()), g.blockSide());
            String padded = d.padZeros(rest, d.concat(0, d.ints(0, 0, 0, 0), pad, d.ints(0)));
            String blocks = d.reshape(padded, d.concat(0, d.ints(0, -1), g.blockSide(), flat.dDim())); // [M, nb, side, D]
            String z = d.reshape(ChunkBodies.blockMatMul(d, transform.blockMatrix(), b, g, blocks), d.shape(padded));
            d.output(sink ? d.concat(1, ChunkBodies.tokens(d, flat.x3(), d.ints(0), g.sink()), z) : z, "Z");
        }
        return d.function(functionName(), inputs(), outputs(), opName() + " " + describe());
    }

    /** Inputs X and past (past as a 1-element tensor holding the count). */
    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(transform, in[0], (long) in[1].data()[0]); }

    /** Reference kernel: the fixed-sink {@link BlockSequence} kernel of this chunk's effective transform. */
    public static FloatTensor apply(SequenceTransform transform, FloatTensor x, long past) {
        if (x.rank() < 2) throw new IllegalArgumentException(transform.opName() + "Chunk needs rank >= 2, got " + x);
        ChunkGeometry g = ChunkGeometry.of(transform, x.dim(-2), past);
        return BlockSequence.apply(g.effective(transform), x);
    }
}
