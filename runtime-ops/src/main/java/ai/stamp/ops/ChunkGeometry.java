package ai.stamp.ops;

/**
 * The sink as a <i>position</i> (docs/method.md#decoders-and-the-kv-cache): in a decoder that runs a sequence as chunks through a KV cache,
 * a chunk of S tokens after P cached ones holds the sink tokens only where its absolute positions P..P+S-1 are below
 * the transform's {@code sinkTokens}. So a prefill (P = 0) has the encoder's sink, and no later chunk has any.
 *
 * <p>A chunk whose non-sink part is shorter than one transform block (R &lt; B, e.g. every one-token decode step) is
 * <b>not transformed</b>: zero-padding one token to a block of B would spread it over B coefficients and multiply the
 * GEMM's rows by B, for no energy to concentrate. Its non-sink tokens are all quantized at the low bit width (the
 * matched baseline gives them no high-precision token either), so decode steps run at the low bit width. A chunk with
 * R >= B is transformed as a whole sequence would be: blocks start right after its sink tokens (or at its first
 * token), and its last block is zero-padded.
 *
 * @param sink        sink tokens in this chunk: min(max(sinkTokens - P, 0), S)
 * @param rest        the other tokens: S - sink
 * @param transformed whether the rest is transformed (rest >= B)
 */
public record ChunkGeometry(int sink, int rest, boolean transformed) {

    public static ChunkGeometry of(SequenceTransform transform, long chunkLength, long past) {
        if (transform.is2d()) throw new IllegalArgumentException(transform.id() + " is a 2D transform: chunked decoding is 1D only");
        if (chunkLength < 0 || past < 0) throw new IllegalArgumentException("chunk length and past must be >= 0, got " + chunkLength + ", " + past);
        int s = (int) Math.min(Math.max(transform.sinkTokens() - past, 0), chunkLength);
        int r = Math.toIntExact(chunkLength - s);
        return new ChunkGeometry(s, r, r >= transform.blockSide());
    }

    /**
     * The fixed-sink transform that this chunk gets: the same family and levels with this chunk's sink count, or
     * levels 0 (the identity, T = S) when the chunk is not transformed.
     */
    public SequenceTransform effective(SequenceTransform transform) {
        return SequenceTransforms.of(transform.id(), transformed ? transform.levels() : 0, sink);
    }

    /** Tokens after the forward op: sink + the rest padded to whole blocks, or S when not transformed. */
    public int transformedLength(SequenceTransform transform) {
        return BlockGeometry.of(effective(transform), (long) sink + rest).transformedLength();
    }
}
