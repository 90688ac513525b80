package ai.stamp.ops;

import java.util.Objects;

/**
 * How the tokens of a quantized activation are arranged: which {@link SequenceTransform} produced them
 * (with its geometry), or — for the matched-bit baseline — no transform at all but that transform's
 * geometry, so the baseline keeps the same number of high-precision tokens (the band size). Both the
 * transform ops and {@link TokenPrecision} read it, so the bit allocation always agrees with the layout
 * the transform wrote.
 *
 * @param sequenceTransform the transform, and so the geometry (levels, sink tokens, 2D grid height)
 * @param identity          true for the matched-bit baseline: tokens stay as they are (T = S), only the
 *                          geometry of {@code sequenceTransform} is used (to size the band)
 */
public record SequenceLayout(SequenceTransform sequenceTransform, boolean identity) {

    public SequenceLayout {
        Objects.requireNonNull(sequenceTransform, "sequence transform");
    }

    /** The layout {@code transform} writes. */
    public static SequenceLayout of(SequenceTransform transform) {
        return new SequenceLayout(transform, false);
    }

    public static SequenceLayout haar1d(int levels, int sinkTokens) {
        return of(new HaarTransform(levels, sinkTokens));
    }

    public static SequenceLayout haar2d(int levels, int sinkTokens, int gridHeight) {
        return of(new Haar2dTransform(levels, sinkTokens, gridHeight));
    }

    /** The matched-bit baseline of this layout: same geometry (so same band size), no transform. */
    public SequenceLayout identityOf() {
        return new SequenceLayout(sequenceTransform, true);
    }

    public int levels() { return sequenceTransform.levels(); }

    public int sinkTokens() { return sequenceTransform.sinkTokens(); }

    /** 2D only: rows of the token grid (static); columns = (S - sink) / gridHeight at run time; 0 in 1D. */
    public int gridHeight() { return sequenceTransform.gridHeight(); }

    /** Block side in tokens along one axis: 2^levels. */
    public int blockSide() { return sequenceTransform.blockSide(); }

    /** Tokens per block: B (1D) or B² (2D). */
    public int blockTokens() { return sequenceTransform.blockTokens(); }

    public boolean is2d() { return sequenceTransform.is2d(); }

    /** Suffix that makes a transform's function name unique per geometry, e.g. "_l3_s1" or "_l3_s1_h14". */
    public String nameSuffix() {
        return "_l" + levels() + "_s" + sinkTokens() + (is2d() ? "_h" + gridHeight() : "");
    }

    /** The geometry as op attributes, for doc strings and reports. */
    public String describeGeometry() {
        return "levels=" + levels() + " sink_tokens=" + sinkTokens() + (is2d() ? " grid_height=" + gridHeight() : "");
    }
}
