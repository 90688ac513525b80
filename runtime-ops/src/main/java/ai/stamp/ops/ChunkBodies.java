package ai.stamp.ops;

/**
 * Body fragments of the chunk ops ({@link ChunkSequence}, {@link ChunkSequenceInverse}, {@link TokenPrecision#chunked}):
 * the run-time {@link ChunkGeometry} from the chunk length and the 1-element int64 input {@code past}.
 */
final class ChunkBodies {
    private ChunkBodies() {}

    /**
     * The chunk's geometry as tensors: {@code sink} [s], {@code rest} [R], {@code transformed} bool [1] (R >= B) and
     * {@code blockSide} [B or 1].
     */
    record Geometry(String sink, String rest, String transformed, String blockSide) {}

    static Geometry of(OnnxDialect d, int sinkTokens, int b, String past, String sDim) {
        String s = sinkTokens == 0 ? d.ints(0) : sinkCount(d, sinkTokens, past, sDim);
        String r = sinkTokens == 0 ? sDim : d.sub(sDim, s);
        String transformed = d.less(d.ints(b - 1), r);
        String side = d.add(d.ints(1), d.mul(d.cast(transformed, ai.onnx.proto.OnnxMl.TensorProto.DataType.INT64_VALUE), d.ints(b - 1)));
        return new Geometry(s, r, transformed, side);
    }

    /**
     * [min(max(sink - P, 0), S)]: the length of the constant [0, sink) sliced to [P, P + S) — Slice clamps both bounds,
     * so no Min/Max on int64 (which need opset 12) is needed.
     */
    static String sinkCount(OnnxDialect d, int sinkTokens, String past, String sDim) {
        long[] iota = new long[sinkTokens];
        for (int i = 0; i < sinkTokens; i++) iota[i] = i;
        return d.shape(d.op("Slice", d.ints(iota), past, d.add(past, sDim), d.ints(0)));
    }

    /**
     * {@code matrix · blocks} for blocks [M, nb, side, C]: the constant B x B matrix when the chunk is transformed, else
     * the 1 x 1 identity (the top-left of I_B), sliced to [1, nb, side, side] (nb = 0 when every token is a sink, see
     * {@link SequenceBodies#blockMatMul} for why an empty batch needs its own slice).
     */
    static String blockMatMul(OnnxDialect d, float[] matrix, int b, Geometry g, String blocks) {
        float[] identity = new float[b * b];
        for (int i = 0; i < b; i++) identity[i * b + i] = 1f;
        String m4 = d.where(g.transformed(), d.floats(matrix, 1, 1, b, b), d.floats(identity, 1, 1, b, b));
        String nb = d.slice(d.shape(blocks), 0, 1, 2);
        String m = d.op("Slice", m4, d.ints(0, 0, 0), d.concat(0, nb, g.blockSide(), g.blockSide()), d.ints(1, 2, 3));
        return d.matmul(m, blocks);
    }

    /** Tokens [from, to) of a rank-3 tensor along axis 1, bounds as 1-element int64 tensors (or END). */
    static String tokens(OnnxDialect d, String x3, String from, String to) {
        return d.op("Slice", x3, from, to, d.ints(1));
    }
}
