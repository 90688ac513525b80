package ai.stamp.ops;

/**
 * How the tokens of a quantized activation are arranged: which sequence transform produced them and
 * its geometry. Both the transform ops and {@link TokenPrecision} read it, so the bit allocation always
 * agrees with the layout the transform wrote.
 *
 * @param transform   which sequence transform (IDENTITY for the matched-bit baseline)
 * @param levels      wavelet levels L; blocks are 2^L tokens (1D) or 2^L x 2^L tokens (2D)
 * @param sinkTokens  leading tokens kept out of the transform and always given the high bit-width
 * @param gridHeight  2D only: rows of the token grid (static); columns = (S - sink) / gridHeight at run time
 */
public record SequenceLayout(Transform transform, int levels, int sinkTokens, int gridHeight) {
    public enum Transform { IDENTITY, HAAR_1D, HAAR_2D }

    public SequenceLayout {
        if (levels < 0) throw new IllegalArgumentException("levels must be >= 0, got " + levels);
        if (sinkTokens < 0) throw new IllegalArgumentException("sink tokens must be >= 0, got " + sinkTokens);
        if (transform == Transform.HAAR_2D && gridHeight < 1) {
            throw new IllegalArgumentException("2D layout needs a grid height >= 1, got " + gridHeight);
        }
    }

    public static SequenceLayout haar1d(int levels, int sinkTokens) {
        return new SequenceLayout(Transform.HAAR_1D, levels, sinkTokens, 0);
    }

    public static SequenceLayout haar2d(int levels, int sinkTokens, int gridHeight) {
        return new SequenceLayout(Transform.HAAR_2D, levels, sinkTokens, gridHeight);
    }

    /** The matched-bit baseline of {@code transformed}: same geometry (so same band size), no transform. */
    public SequenceLayout identityOf() {
        return new SequenceLayout(Transform.IDENTITY, levels, sinkTokens, gridHeight);
    }

    /** Block side in tokens along one axis: 2^levels. */
    public int blockSide() { return 1 << levels; }

    public boolean is2d() { return gridHeight > 0; }

    /** Suffix that makes a transform's function name unique per geometry, e.g. "_l3_s1" or "_l3_s1_h14". */
    public String nameSuffix() {
        return "_l" + levels + "_s" + sinkTokens + (is2d() ? "_h" + gridHeight : "");
    }

    /** The geometry as op attributes, for doc strings and reports. */
    public String describeGeometry() {
        return "levels=" + levels + " sink_tokens=" + sinkTokens + (is2d() ? " grid_height=" + gridHeight : "");
    }
}
