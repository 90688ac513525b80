package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.List;

/**
 * {@code CompletedBlocks} (C -> head, tail): splits a KV cache C [lead..., T, d] along its token axis into the part a
 * 1D {@link SequenceTransform} can transform as whole blocks — the sink tokens and every completed block, head =
 * min(sink, T) + floor((T - min(sink, T)) / B)·B tokens — and the open block after it (tail, fewer than B tokens).
 * The cache starts at position 0, so its sink is the sequence's own (no past offset here). How the cache is quantized
 * as it grows (docs/cli.md#decoders-and-the-kv-cache): the head is transformed and quantized, the tail is kept at the model's precision
 * until its block completes; re-quantizing a head that was quantized before is the identity up to float rounding
 * (its values are on the grid of the same per-token min-max).
 */
public final class CompletedBlocks implements StampOp {
    public static final String OP = "CompletedBlocks";
    private final SequenceTransform transform;

    public CompletedBlocks(SequenceTransform transform) {
        if (transform.is2d()) throw new IllegalArgumentException(transform.id() + " is 2D: a KV cache has one token axis");
        this.transform = transform;
    }

    @Override public String opName() { return OP; }
    @Override public String functionName() { return OP + "_l" + transform.levels() + "_s" + transform.sinkTokens(); }
    @Override public List<String> inputs() { return List.of("C"); }
    @Override public List<String> outputs() { return List.of("head", "tail"); }
    @Override public String describe() { return "block=" + transform.blockSide() + " sink_tokens=" + transform.sinkTokens(); }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int b = transform.blockSide();
        String tDim = d.slice(d.shape("C"), 0, -2, -1);
        String s = transform.sinkTokens() == 0 ? d.ints(0) : SequenceBodies.sinkCount(d, transform.sinkTokens(), tDim);
        String head = d.sub(tDim, d.modInt(d.sub(tDim, s), d.ints(b)));
        d.output(d.sliceTo("C", -2, 0, head), "head");
        d.output(d.op("Slice", "C", head, d.ints(OnnxDialect.END), d.ints(-2)), "tail");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    /** The head's token count for a cache of {@code tokens} tokens. */
    public int headLength(long tokens) {
        int s = (int) Math.min(transform.sinkTokens(), tokens);
        int b = transform.blockSide();
        return Math.toIntExact(s + (tokens - s) / b * b);
    }

    /** The head (the first output). */
    @Override
    public FloatTensor reference(FloatTensor... in) { return split(in[0])[0]; }

    /** Reference kernel: {head, tail} of C along axis -2. */
    public FloatTensor[] split(FloatTensor c) {
        int t = (int) c.dim(-2), dd = (int) c.dim(-1), h = headLength(t);
        int m = (int) (c.data().length / Math.max(1L, (long) t * dd));
        float[] head = new float[m * h * dd], tail = new float[m * (t - h) * dd];
        for (int i = 0; i < m; i++) {
            System.arraycopy(c.data(), i * t * dd, head, i * h * dd, h * dd);
            System.arraycopy(c.data(), i * t * dd + h * dd, tail, i * (t - h) * dd, (t - h) * dd);
        }
        long[] hs = c.shape().clone(), ts = c.shape().clone();
        hs[hs.length - 2] = h;
        ts[ts.length - 2] = t - h;
        return new FloatTensor[] {new FloatTensor(head, hs), new FloatTensor(tail, ts)};
    }

    @Override public String toString() { return functionName() + Arrays.toString(new int[] {transform.blockSide()}); }
}
