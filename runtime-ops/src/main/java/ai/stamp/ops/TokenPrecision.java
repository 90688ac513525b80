package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * {@code TokenPrecision} (Z -> levels): the per-token quantization level count q = 2^b - 1, b in
 * {hiBits, loBits}, as a float [T, 1] that broadcasts over Z [..., T, D] (docs/method.md#activation-quantization-numerics).
 *
 * <p>The sink tokens (t &lt; min(sink, T)) are always high. Then, for a transformed layout (Z in the
 * block layout of its {@link SequenceTransform}'s forward op, B2 tokens per block, coefficient
 * c = (t - s) mod B2):
 * <ul>
 *   <li>{@code hiTokens == 0} (default allocation): high iff c == 0, the approximation / LL band —
 *       so the high count follows the sequence length;</li>
 *   <li>{@code hiTokens == K > 0}: high iff the token's position in the transform's global standard
 *       order is below K - s. The body evaluates the closed form
 *       {@link SequenceTransform#closedFormTables}; the kernel reads
 *       {@link SequenceTransform#standardPositions} — two routes, checked equal.</li>
 * </ul>
 * For the IDENTITY layout (matched-bit baseline, T = S) the first hiCount tokens are high, hiCount =
 * K, or s + the band size the transformed layout would have for this S.
 *
 * <p><b>Bit table</b> ({@link #withTable}, energy allocation, docs/method.md#energy-allocation): a transformed layout
 * and a table b[c] of B2 bit-widths, one per in-block coefficient index; token t &lt; s gets hiBits, token
 * t >= s gets b[(t - s) mod B2]. The body is Range -> Sub -> Mod -> Gather on a constant table of
 * q = 2^b - 1 (plus a Where for the sink), so it needs no per-T constants.
 */
public final class TokenPrecision implements StampOp {
    public static final String OP = "TokenPrecision";

    private final SequenceLayout layout;
    private final int hiBits;
    private final int loBits;
    private final int hiTokens;
    /** Bits per in-block coefficient index (length B2), or null for the hi/lo rules. */
    private final int[] coefficientBits;

    public TokenPrecision(SequenceLayout layout, int hiBits, int loBits, int hiTokens) {
        QuantNumerics.steps(hiBits);
        QuantNumerics.steps(loBits);
        if (hiTokens < 0) throw new IllegalArgumentException("hi tokens must be >= 0, got " + hiTokens);
        this.layout = layout;
        this.hiBits = hiBits;
        this.loBits = loBits;
        this.hiTokens = hiTokens;
        this.coefficientBits = null;
    }

    private TokenPrecision(SequenceLayout layout, int hiBits, int[] coefficientBits) {
        QuantNumerics.steps(hiBits);
        if (layout.identity()) {
            throw new IllegalArgumentException("a per-coefficient bit table needs a transformed layout, got IDENTITY");
        }
        int b2 = layout.blockTokens();
        if (coefficientBits.length != b2) {
            throw new IllegalArgumentException("bit table has " + coefficientBits.length + " entries, the layout's blocks hold " + b2 + " tokens");
        }
        int lo = Integer.MAX_VALUE;
        for (int b : coefficientBits) {
            QuantNumerics.steps(b);
            lo = Math.min(lo, b);
        }
        this.layout = layout;
        this.hiBits = hiBits;
        this.loBits = lo;
        this.hiTokens = 0;
        this.coefficientBits = coefficientBits.clone();
    }

    /**
     * The table form: sink tokens at {@code sinkBits}, every other token at {@code coefficientBits[c]} with
     * c = (t - s) mod B2 its in-block coefficient index (B2 = 2^L in 1D, 4^L in 2D).
     */
    public static TokenPrecision withTable(SequenceLayout layout, int sinkBits, int[] coefficientBits) {
        return new TokenPrecision(layout, sinkBits, coefficientBits);
    }

    public SequenceLayout layout() { return layout; }

    int hiBits() { return hiBits; }
    int loBits() { return loBits; }
    int hiTokens() { return hiTokens; }

    /** The same rule on another geometry of the same family (a decoder chunk's own sink count, see {@link ChunkTokenPrecision}). */
    TokenPrecision on(SequenceLayout other) {
        return coefficientBits != null ? withTable(other, hiBits, coefficientBits) : new TokenPrecision(other, hiBits, loBits, hiTokens);
    }

    /** This rule for the chunks of a decoder: the sink as a position, short chunks untransformed ({@link ChunkGeometry}). */
    public ChunkTokenPrecision chunked() { return new ChunkTokenPrecision(this); }

    /** The per-coefficient bit table (a copy), or null for the hi/lo rules. */
    public int[] coefficientBits() { return coefficientBits == null ? null : coefficientBits.clone(); }

    /** Short stable tag of the bit table: its digits for up to 16 entries, else a SHA-256 prefix. */
    private String tableTag() {
        StringBuilder digits = new StringBuilder();
        for (int b : coefficientBits) digits.append(b);
        if (coefficientBits.length <= 16) return "_e" + digits;
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(digits.toString().getBytes(StandardCharsets.US_ASCII));
            return "_x" + HexFormat.of().formatHex(h, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override public String opName() { return OP; }

    @Override
    public String functionName() {
        String kind = layout.identity() ? (layout.is2d() ? "identity2d" : "identity") : layout.sequenceTransform().functionTag();
        return OP + "_" + kind + "_l" + layout.levels() + "_s" + layout.sinkTokens()
                + (layout.is2d() ? "_h" + layout.gridHeight() : "")
                + (coefficientBits != null ? "_b" + hiBits + tableTag()
                        : "_b" + hiBits + "-" + loBits + (hiTokens == 0 ? "_band" : "_k" + hiTokens));
    }

    @Override public List<String> inputs() { return List.of("Z"); }
    @Override public List<String> outputs() { return List.of("levels"); }

    /** "IDENTITY" or the transform's doc label: the identity baseline only depends on the geometry. */
    private String layoutLabel() {
        return layout.identity() ? "IDENTITY" : layout.sequenceTransform().docLabel();
    }

    @Override
    public String describe() {
        if (coefficientBits != null) {
            return "layout=" + layoutLabel() + " levels=" + layout.levels() + " sink_tokens=" + layout.sinkTokens()
                    + (layout.is2d() ? " grid_height=" + layout.gridHeight() : "")
                    + " sink_bits=" + hiBits + " coefficient_bits=" + Arrays.toString(coefficientBits);
        }
        return "layout=" + layoutLabel() + " levels=" + layout.levels() + " sink_tokens=" + layout.sinkTokens()
                + (layout.is2d() ? " grid_height=" + layout.gridHeight() : "")
                + " bits=" + hiBits + "/" + loBits + " hi_tokens=" + (hiTokens == 0 ? "band" : hiTokens);
    }

    // ------------------------------------------------------------------ function body

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        if (coefficientBits != null) return tableFunction(opset);
        OnnxDialect d = new OnnxDialect(opset);
        int sink = layout.sinkTokens();
        int b = layout.blockSide();
        int nbh = layout.is2d() ? BlockGeometry.ceilDiv(layout.gridHeight(), b) : 1;
        String tDim = d.slice(d.shape("Z"), 0, -2, -1); // [T]
        String t = d.range(d.intScalar(0), d.squeeze(tDim, 0), d.intScalar(1));
        String hi;
        if (layout.identity()) {
            hi = d.less(t, identityHiCount(d, tDim, sink, b, nbh));
        } else {
            int b2 = layout.blockTokens();
            // t < sink is the same test as t < min(sink, T) because t < T; the other clause may
            // compute garbage for those tokens (negative rel), which the Or then ignores.
            String rel = sink == 0 ? t : d.sub(t, d.ints(sink));
            String c = d.modInt(rel, d.ints(b2));
            String rest = hiTokens == 0
                    ? d.equal(c, d.ints(0))
                    : d.less(standardPosition(d, tDim, rel, c, sink, b2, nbh), d.ints(hiTokens - sink));
            hi = sink == 0 ? rest : d.or(d.less(t, d.ints(sink)), rest);
        }
        String q = d.where(hi, d.floatScalar(QuantNumerics.steps(hiBits)), d.floatScalar(QuantNumerics.steps(loBits)));
        d.output(d.unsqueeze(q, 1), "levels");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    /** Range -> Sub -> Mod -> Gather on the constant q table; a Where puts the sink tokens at hiBits. */
    private OnnxMl.FunctionProto tableFunction(int opset) {
        OnnxDialect d = new OnnxDialect(opset);
        int sink = layout.sinkTokens();
        int b2 = coefficientBits.length;
        float[] table = new float[b2];
        for (int c = 0; c < b2; c++) table[c] = QuantNumerics.steps(coefficientBits[c]);
        String tDim = d.slice(d.shape("Z"), 0, -2, -1); // [T]
        String t = d.range(d.intScalar(0), d.squeeze(tDim, 0), d.intScalar(1));
        // Mod with fmod = 0 takes the divisor's sign, so c is in [0, B2) even for the sink tokens' negative rel
        String rel = sink == 0 ? t : d.sub(t, d.ints(sink));
        String c = d.modInt(rel, d.ints(b2));
        String q = d.gather(d.floats(table, b2), c);
        if (sink > 0) q = d.where(d.less(t, d.ints(sink)), d.floatScalar(QuantNumerics.steps(hiBits)), q);
        d.output(d.unsqueeze(q, 1), "levels");
        return d.function(functionName(), inputs(), outputs(), OP + " " + describe());
    }

    /**
     * hiCount for the identity layout. Band mode: sink + ceil((T - sink)/B) in 1D, sink + nbh·ceil(Wg/B)
     * with Wg = (T - sink)/Hg in 2D. When T <= sink the integer divisions see a non-positive numerator;
     * the result is still >= T, so every token is high, as the spec wants (s = min(sink, T)).
     */
    private String identityHiCount(OnnxDialect d, String tDim, int sink, int b, int nbh) {
        if (hiTokens > 0) return d.ints(hiTokens);
        String rest = sink == 0 ? tDim : d.sub(tDim, d.ints(sink));
        if (layout.is2d()) rest = d.div(rest, d.ints(layout.gridHeight()));
        String band = d.div(d.add(rest, d.ints(b - 1)), d.ints(b));
        if (layout.is2d() && nbh != 1) band = d.mul(band, d.ints(nbh));
        return sink == 0 ? band : d.add(band, d.ints(sink));
    }

    /**
     * The global standard position of block-layout token rel = t - sink with coefficient c:
     * p = A[c]·nb + E[c]·bh·nbw + F[c]·nbw + G[c]·bw + R[c] (1D: bh = 0, bw = block index, F = 0).
     */
    private String standardPosition(OnnxDialect d, String tDim, String rel, String c, int sink, int b2, int nbh) {
        return standardPosition(d, rel, c, () -> d.div(sink == 0 ? tDim : d.sub(tDim, d.ints(sink)), d.ints(b2)), b2, nbh);
    }

    /** As above with the block count nb computed by {@code blockCount} (after blk, which keeps the bodies' node order). */
    String standardPosition(OnnxDialect d, String rel, String c, java.util.function.Supplier<String> blockCount, int b2, int nbh) {
        boolean oneD = !layout.is2d();
        long[][] tab = layout.sequenceTransform().closedFormTables();
        String blk = d.div(rel, d.ints(b2));
        String nb = blockCount.get();
        String p;
        if (oneD) {
            p = d.add(d.add(d.mul(d.gather(d.ints(tab[0]), c), nb), d.mul(d.gather(d.ints(tab[3]), c), blk)),
                    d.gather(d.ints(tab[4]), c));
        } else {
            // nbw = 0 only when there are no grid tokens (every token is a sink); clamp so Div cannot trap
            String nbw = d.clampMinInt(d.div(nb, d.ints(nbh)), 1);
            String bh = d.div(blk, nbw);
            String bw = d.sub(blk, d.mul(bh, nbw));
            p = d.mul(d.gather(d.ints(tab[0]), c), nb);
            p = d.add(p, d.mul(d.gather(d.ints(tab[1]), c), d.mul(bh, nbw)));
            p = d.add(p, d.mul(d.gather(d.ints(tab[2]), c), nbw));
            p = d.add(p, d.mul(d.gather(d.ints(tab[3]), c), bw));
            p = d.add(p, d.gather(d.ints(tab[4]), c));
        }
        return p;
    }

    // ------------------------------------------------------------------ Java kernel

    @Override
    public FloatTensor reference(FloatTensor... in) { return apply(in[0].dim(-2)); }

    /** Reference kernel: the [T, 1] level counts for a tensor of T tokens. */
    public FloatTensor apply(long tokens) {
        int tt = Math.toIntExact(tokens);
        if (coefficientBits != null) {
            int[] bits = bitsPerToken(tt);
            float[] q = new float[tt];
            for (int t = 0; t < tt; t++) q[t] = QuantNumerics.steps(bits[t]);
            return new FloatTensor(q, new long[] {tt, 1});
        }
        boolean[] hi = hiMask(tt);
        float[] q = new float[tt];
        for (int t = 0; t < tt; t++) q[t] = QuantNumerics.steps(hi[t] ? hiBits : loBits);
        return new FloatTensor(q, new long[] {tt, 1});
    }

    /** The bit-width of each of T tokens. */
    public int[] bitsPerToken(int tokens) {
        int[] bits = new int[tokens];
        int s = Math.min(layout.sinkTokens(), tokens);
        if (coefficientBits != null) {
            for (int t = 0; t < tokens; t++) bits[t] = t < s ? hiBits : coefficientBits[(t - s) % coefficientBits.length];
            return bits;
        }
        boolean[] hi = hiMask(tokens);
        for (int t = 0; t < tokens; t++) bits[t] = hi[t] ? hiBits : loBits;
        return bits;
    }

    /** Which of T tokens get the high bit-width (table form: the tokens at the sink's bit-width or more). */
    public boolean[] hiMask(int tokens) {
        boolean[] hi = new boolean[tokens];
        if (coefficientBits != null) {
            int[] bits = bitsPerToken(tokens);
            for (int t = 0; t < tokens; t++) hi[t] = bits[t] >= hiBits;
            return hi;
        }
        int s = Math.min(layout.sinkTokens(), tokens);
        for (int t = 0; t < s; t++) hi[t] = true;
        if (layout.identity()) {
            int count = hiTokens > 0 ? hiTokens : s + BlockGeometry.of(layout, tokens).blocks();
            for (int t = 0; t < Math.min(count, tokens); t++) hi[t] = true;
            return hi;
        }
        int b2 = layout.blockTokens();
        int nbh = layout.is2d() ? BlockGeometry.ceilDiv(layout.gridHeight(), layout.blockSide()) : 1;
        int rest = tokens - s;
        if (rest % (nbh * b2) != 0) {
            throw new IllegalArgumentException(rest + " transformed tokens are not whole rows of " + nbh + " blocks of " + b2);
        }
        int nbw = rest / (nbh * b2);
        int[] pos = hiTokens > 0 ? layout.sequenceTransform().standardPositions(nbh, nbw) : null;
        for (int r = 0; r < rest; r++) {
            hi[s + r] = hiTokens == 0 ? r % b2 == 0 : pos[r] < hiTokens - s;
        }
        return hi;
    }
}
