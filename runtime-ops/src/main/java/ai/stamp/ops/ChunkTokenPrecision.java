package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * {@link TokenPrecision} for one chunk of a decoder's sequence (Z, past -> levels): the same rule, applied with this
 * chunk's {@link ChunkGeometry} — its sink count from its position, and for a chunk too short to transform (R &lt; B)
 * only the sink tokens high and every other token at the low bit width (the table form: its lowest entry), in both
 * the transformed layout and the matched baseline's identity layout. 1D layouts only.
 *
 * <p>T (Z's token count) is enough to recover the geometry: T >= S, so the sink count from T equals the one from S,
 * and the chunk was transformed iff T - sink >= B (a transformed rest is whole blocks; an untransformed one is &lt; B).
 */
public final class ChunkTokenPrecision implements StampOp {
    private final TokenPrecision base;
    private final SequenceLayout layout;

    ChunkTokenPrecision(TokenPrecision base) {
        if (base.layout().is2d()) throw new IllegalArgumentException("chunked decoding is 1D only, got a 2D layout");
        this.base = base;
        this.layout = base.layout();
    }

    @Override public String opName() { return TokenPrecision.OP + "Chunk"; }
    @Override public String functionName() { return opName() + base.functionName().substring(TokenPrecision.OP.length()); }
    @Override public List<String> inputs() { return List.of("Z", "past"); }
    @Override public List<String> outputs() { return List.of("levels"); }
    @Override public String describe() { return base.describe() + " sink=position"; }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int sink = layout.sinkTokens();
        int b = layout.blockSide();
        String tDim = d.slice(d.shape("Z"), 0, -2, -1); // [T]
        String t = d.range(d.intScalar(0), d.squeeze(tDim, 0), d.intScalar(1));
        ChunkBodies.Geometry g = ChunkBodies.of(d, sink, b, "past", tDim);
        String isSink = sink == 0 ? null : d.less(t, g.sink());
        String rel = sink == 0 ? t : d.sub(t, g.sink());
        float hiQ = QuantNumerics.steps(base.hiBits()), loQ = QuantNumerics.steps(base.loBits());
        String q;
        int[] table = base.coefficientBits();
        if (table != null) {
            float[] steps = new float[table.length];
            for (int c = 0; c < table.length; c++) steps[c] = QuantNumerics.steps(table[c]);
            String c = d.modInt(rel, d.ints(b));
            q = d.where(g.transformed(), d.gather(d.floats(steps, table.length), c), d.floatScalar(loQ));
            if (isSink != null) q = d.where(isSink, d.floatScalar(hiQ), q);
        } else {
            String hi;
            if (layout.identity()) {
                // hiCount = sink + (transformed ? band or K - sink : 0); the K rule counts the sink among its K
                String extra = base.hiTokens() > 0
                        ? d.sub(d.ints(base.hiTokens()), g.sink())
                        : d.div(d.add(g.rest(), d.ints(b - 1)), d.ints(b));
                String count = d.add(g.sink(), d.mul(d.cast(g.transformed(), OnnxMl.TensorProto.DataType.INT64_VALUE), extra));
                hi = d.less(t, count);
            } else {
                String c = d.modInt(rel, d.ints(b));
                String rest = base.hiTokens() == 0
                        ? d.equal(c, d.ints(0))
                        : d.less(base.standardPosition(d, rel, c, () -> d.div(g.rest(), d.ints(b)), b, 1), d.sub(d.ints(base.hiTokens()), g.sink()));
                hi = d.op("And", g.transformed(), rest);
                if (isSink != null) hi = d.or(isSink, hi);
            }
            q = d.where(hi, d.floatScalar(hiQ), d.floatScalar(loQ));
        }
        d.output(d.unsqueeze(q, 1), "levels");
        return d.function(functionName(), inputs(), outputs(), opName() + " " + describe());
    }

    /** Inputs Z and past (a 1-element tensor holding the count). */
    @Override
    public FloatTensor reference(FloatTensor... in) {
        int[] bits = bitsPerToken(Math.toIntExact(in[0].dim(-2)), (long) in[1].data()[0]);
        float[] q = new float[bits.length];
        for (int i = 0; i < bits.length; i++) q[i] = QuantNumerics.steps(bits[i]);
        return new FloatTensor(q, new long[] {bits.length, 1});
    }

    /** The bit-width of each of T quantized tokens of a chunk after {@code past} tokens. */
    public int[] bitsPerToken(int tokens, long past) {
        SequenceTransform transform = layout.sequenceTransform();
        ChunkGeometry g = ChunkGeometry.of(transform, tokens, past);
        boolean transformed = tokens - g.sink() >= transform.blockSide();
        if (!transformed) {
            int[] bits = new int[tokens];
            for (int t = 0; t < tokens; t++) bits[t] = t < g.sink() ? base.hiBits() : base.loBits();
            return bits;
        }
        SequenceLayout fixed = SequenceTransforms.of(transform.id(), transform.levels(), g.sink()).layout();
        return base.on(layout.identity() ? fixed.identityOf() : fixed).bitsPerToken(tokens);
    }

    /** Mean bits over the T quantized tokens of a chunk of S tokens after {@code past} (T from {@link ChunkGeometry}). */
    public double averageBits(int chunkLength, long past) {
        SequenceTransform transform = layout.sequenceTransform();
        int t = layout.identity() ? chunkLength : ChunkGeometry.of(transform, chunkLength, past).transformedLength(transform);
        if (t == 0) return Double.NaN;
        long sum = 0;
        for (int b : bitsPerToken(t, past)) sum += b;
        return (double) sum / t;
    }
}
