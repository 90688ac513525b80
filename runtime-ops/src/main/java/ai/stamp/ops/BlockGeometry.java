package ai.stamp.ops;

/**
 * The block layout of one sequence of S tokens under a {@link SequenceTransform} (docs/method.md#sequence-transforms with
 * the sink rule of section 2): {@code sink} = min(sinkTokens, S) untouched tokens, then {@code rest} =
 * S - sink tokens padded and cut into {@code nbh x nbw} blocks of {@code blockTokens} tokens
 * (1D: nbh = 1, nbw = nb = ceil(rest / B), blockTokens = B; 2D: the rest is a gridH x gridW row-major
 * grid, nbh = ceil(gridH / B), nbw = ceil(gridW / B), blockTokens = B²).
 */
public record BlockGeometry(int sink, int rest, int gridH, int gridW, int nbh, int nbw, int blockSide, int blockTokens) {

    /** The geometry of the layout's transform (the identity baseline's too: it sizes the band). */
    public static BlockGeometry of(SequenceLayout layout, long sequenceLength) {
        return of(layout.sequenceTransform(), sequenceLength);
    }

    public static BlockGeometry of(SequenceTransform transform, long sequenceLength) {
        int s = (int) Math.min(transform.sinkTokens(), sequenceLength);
        int rest = Math.toIntExact(sequenceLength - s);
        int b = transform.blockSide();
        if (transform.is2d()) {
            int hg = transform.gridHeight();
            if (rest % hg != 0) {
                throw new IllegalArgumentException(rest + " grid tokens are not a multiple of grid height " + hg);
            }
            int wg = rest / hg;
            return new BlockGeometry(s, rest, hg, wg, ceilDiv(hg, b), ceilDiv(wg, b), b, b * b);
        }
        return new BlockGeometry(s, rest, 1, rest, 1, ceilDiv(rest, b), b, b);
    }

    /** Number of blocks = size of the approximation / LL band. */
    public int blocks() { return nbh * nbw; }

    /** Tokens after the transform: sink + blocks · blockTokens. */
    public int transformedLength() { return sink + blocks() * blockTokens; }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
