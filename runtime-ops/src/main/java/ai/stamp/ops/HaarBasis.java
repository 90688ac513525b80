package ai.stamp.ops;

import java.util.ArrayList;
import java.util.List;

/**
 * The one definition of the Haar DWT (docs/method.md#sequence-transforms) and of its standard coefficient order. The
 * block matrices H (1D) and K (2D) that the ops embed, the Java kernels and the bit allocation are all
 * derived from the level-by-level reference transforms below, so there is a single source of truth.
 *
 * <p><b>2D band names.</b> Each 2D level first runs one 1D Haar level along every row (over the width
 * axis), then along every column (over the height axis), in place on the current low-low block of size
 * h x w. A band is named by two letters: the first is the filter applied along rows (horizontal), the
 * second the filter applied along columns (vertical). In the in-place layout that gives
 * <pre>
 *   LL | HL        LL: rows [0,h/2)  cols [0,w/2)      HL: rows [0,h/2)  cols [w/2,w)
 *   ---+---
 *   LH | HH        LH: rows [h/2,h)  cols [0,w/2)      HH: rows [h/2,h)  cols [w/2,w)
 * </pre>
 * and the standard order of a level is LH, HL, HH (bottom-left, top-right, bottom-right), after the
 * final LL band and before the next finer level.
 *
 * <p>Computation is in double; the float matrices are rounded once at the end (entries are +-2^(-k/2),
 * so every entry is the correctly rounded float of the exact value).
 */
public final class HaarBasis {
    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);

    private HaarBasis() {}

    // ------------------------------------------------------------------ 1D

    /** One 1D Haar level on {@code x[off + k*stride]}, k < n (n even), in place: [a..., d...]. */
    private static void level1d(double[] x, int off, int stride, int n) {
        double[] tmp = new double[n];
        int half = n / 2;
        for (int i = 0; i < half; i++) {
            double e = x[off + 2 * i * stride];
            double o = x[off + (2 * i + 1) * stride];
            tmp[i] = (e + o) * INV_SQRT2;
            tmp[half + i] = (e - o) * INV_SQRT2;
        }
        for (int k = 0; k < n; k++) x[off + k * stride] = tmp[k];
    }

    /**
     * The L-level 1D Haar DWT of {@code x} (length a multiple of 2^levels) in place; the result is in
     * standard order: approximation, level-L details, ..., level-1 details.
     */
    public static void haar1d(double[] x, int levels) {
        int n = x.length;
        if (n % (1 << levels) != 0) throw new IllegalArgumentException("length " + n + " not a multiple of 2^" + levels);
        for (int j = 1; j <= levels; j++) {
            level1d(x, 0, 1, n);
            n /= 2;
        }
    }

    /**
     * {@link #haar1d} of every column of a row-major [n, columns] array in place (n a multiple of
     * 2^levels): the same operations per element, a whole token row at a time.
     */
    public static void haar1dRows(double[] x, int columns, int levels) {
        int n = x.length / Math.max(columns, 1);
        if (columns == 0) return;
        if (n * columns != x.length || n % (1 << levels) != 0) {
            throw new IllegalArgumentException(x.length + " values are not [" + n + " multiple of 2^" + levels + ", " + columns + "]");
        }
        double[] tmp = new double[n * columns];
        for (int j = 1; j <= levels; j++) {
            int half = n / 2;
            for (int i = 0; i < half; i++) {
                int e = 2 * i * columns, o = e + columns, a = i * columns, d = (half + i) * columns;
                for (int f = 0; f < columns; f++) {
                    double ev = x[e + f], ov = x[o + f];
                    tmp[a + f] = (ev + ov) * INV_SQRT2;
                    tmp[d + f] = (ev - ov) * INV_SQRT2;
                }
            }
            System.arraycopy(tmp, 0, x, 0, n * columns);
            n = half;
        }
    }

    /** The B x B matrix H (B = 2^levels, row-major): H·x is the L-level 1D Haar DWT of x in standard order. */
    public static float[] blockMatrix1d(int levels) {
        int b = 1 << levels;
        float[] h = new float[b * b];
        for (int k = 0; k < b; k++) { // column k = transform of basis vector e_k
            double[] e = new double[b];
            e[k] = 1.0;
            haar1d(e, levels);
            for (int c = 0; c < b; c++) h[c * b + k] = (float) e[c];
        }
        return h;
    }

    // ------------------------------------------------------------------ 2D

    /** The L-level 2D pyramid Haar DWT of a row-major {@code rows x cols} grid, in place (in-place layout). */
    public static void haar2dInPlace(double[] g, int rows, int cols, int levels) {
        int side = 1 << levels;
        if (rows % side != 0 || cols % side != 0) {
            throw new IllegalArgumentException("grid " + rows + "x" + cols + " not a multiple of 2^" + levels);
        }
        int h = rows, w = cols;
        for (int j = 1; j <= levels; j++) {
            for (int r = 0; r < h; r++) level1d(g, r * cols, 1, w); // along rows (horizontal)
            for (int c = 0; c < w; c++) level1d(g, c, cols, h);     // along columns (vertical)
            h /= 2;
            w /= 2;
        }
    }

    /** A sub-band of the transform: its rectangle in the in-place layout, in units of the full grid. */
    public record Band(String name, int level, int rowOffset, int colOffset, int rows, int cols) {}

    /**
     * The bands of an L-level 2D transform of a {@code rows x cols} grid in standard order
     * (LL_L, LH_L, HL_L, HH_L, LH_{L-1}, ...). With {@code rows == 1} and the 1D flag it lists the 1D
     * bands (A_L, D_L, ..., D_1) as 1-row rectangles.
     */
    public static List<Band> bands(int rows, int cols, int levels, boolean oneD) {
        List<Band> out = new ArrayList<>();
        if (oneD) {
            int n = cols >> levels;
            out.add(new Band("A", levels, 0, 0, 1, n));
            for (int j = levels; j >= 1; j--) {
                int len = cols >> j;
                out.add(new Band("D" + j, j, 0, len, 1, len));
            }
            return out;
        }
        out.add(new Band("LL", levels, 0, 0, rows >> levels, cols >> levels));
        for (int j = levels; j >= 1; j--) {
            int h = rows >> j, w = cols >> j;
            out.add(new Band("LH" + j, j, h, 0, h, w));
            out.add(new Band("HL" + j, j, 0, w, h, w));
            out.add(new Band("HH" + j, j, h, w, h, w));
        }
        return out;
    }

    /** Reads an in-place 2D transform out band by band (each band row-major): the standard order. */
    public static double[] standardOrder2d(double[] inPlace, int rows, int cols, int levels) {
        double[] out = new double[rows * cols];
        int p = 0;
        for (Band band : bands(rows, cols, levels, false)) {
            for (int r = 0; r < band.rows(); r++) {
                for (int c = 0; c < band.cols(); c++) out[p++] = inPlace[(band.rowOffset() + r) * cols + band.colOffset() + c];
            }
        }
        return out;
    }

    /** The global L-level 2D Haar DWT of a row-major grid, in standard order. */
    public static double[] haar2d(double[] grid, int rows, int cols, int levels) {
        double[] g = grid.clone();
        haar2dInPlace(g, rows, cols, levels);
        return standardOrder2d(g, rows, cols, levels);
    }

    /** The B² x B² matrix K (row-major): K·vec(block) is the 2D Haar DWT of one B x B block in standard order. */
    public static float[] blockMatrix2d(int levels) {
        int b = 1 << levels, b2 = b * b;
        float[] k = new float[b2 * b2];
        for (int col = 0; col < b2; col++) {
            double[] e = new double[b2];
            e[col] = 1.0;
            double[] z = haar2d(e, b, b, levels);
            for (int c = 0; c < b2; c++) k[c * b2 + col] = (float) z[c];
        }
        return k;
    }

    /** Transpose of a square row-major n x n matrix (the inverse of an orthogonal H or K). */
    public static float[] transpose(float[] m, int n) {
        return BlockMatrices.transpose(m, n);
    }

    // ------------------------------------------------------------------ block layout <-> standard order

    /**
     * For the block layout of {@code nbh x nbw} blocks (1D: nbh = 1, nbw = nb) returns, for every
     * block-layout index {@code (bh·nbw + bw)·B2 + c} (counted after the sink), its position in the
     * global standard order of the padded sequence/grid. Computed by walking the global bands in
     * standard order and locating each coefficient's block and in-block index: an independent route
     * from the closed form that {@link TokenPrecision}'s function body uses.
     */
    public static int[] standardPositions(boolean oneD, int levels, int nbh, int nbw) {
        int b = 1 << levels;
        int rowsPerBlock = oneD ? 1 : b;
        int b2 = rowsPerBlock * b;
        int rows = nbh * rowsPerBlock, cols = nbw * b;
        // in-block coefficient index of (band #, u, v): the same walk on a single block.
        List<Band> blockBands = bands(rowsPerBlock, b, levels, oneD);
        int[] bandStart = new int[blockBands.size()];
        for (int i = 0, acc = 0; i < blockBands.size(); i++) {
            bandStart[i] = acc;
            acc += blockBands.get(i).rows() * blockBands.get(i).cols();
        }
        List<Band> global = bands(rows, cols, levels, oneD);
        int[] pos = new int[rows * cols];
        int p = 0;
        for (int i = 0; i < global.size(); i++) {
            Band g = global.get(i);
            int mRows = blockBands.get(i).rows(), mCols = blockBands.get(i).cols(); // band side per block
            for (int r = 0; r < g.rows(); r++) {
                for (int c = 0; c < g.cols(); c++) {
                    int bh = r / mRows, u = r % mRows, bw = c / mCols, v = c % mCols;
                    int coef = bandStart[i] + u * mCols + v;
                    pos[(bh * nbw + bw) * b2 + coef] = p++;
                }
            }
        }
        return pos;
    }

    /**
     * Per in-block coefficient c, the integer constants of the closed form of its standard position
     * {@code p = A[c]·nb + E[c]·bh·nbw + F[c]·nbw + G[c]·bw + R[c]} (nb = nbh·nbw; 1D: bh = 0, bw = b).
     * For a level-j coefficient with m = 2^(L-j) coefficients per block side in its band and in-band
     * sub-position (u, v): A = band offset in units of nb, E = m², F = u·m, G = m, R = v. The band
     * offsets are 1D: A_L 0, D_j m; 2D: LL 0, then LH/HL/HH of level j at m²·(1, 2, 3).
     *
     * @return {A, E, F, G, R}, each of length B (1D) or B² (2D)
     */
    public static long[][] closedFormTables(boolean oneD, int levels) {
        int b = 1 << levels;
        int b2 = oneD ? b : b * b;
        long[][] t = new long[5][b2];
        int c = 0;
        // approximation / LL: m = 1, one coefficient per block, A = 0, position = b
        t[1][c] = 1; t[3][c] = 1; c++;
        for (int j = levels; j >= 1; j--) {
            int m = 1 << (levels - j);
            int kinds = oneD ? 1 : 3;
            for (int k = 0; k < kinds; k++) {
                long offset = oneD ? m : (long) m * m * (1 + k);
                int uMax = oneD ? 1 : m;
                for (int u = 0; u < uMax; u++) {
                    for (int v = 0; v < m; v++) {
                        t[0][c] = offset;
                        t[1][c] = (long) m * m;
                        t[2][c] = (long) u * m;
                        t[3][c] = m;
                        t[4][c] = v;
                        c++;
                    }
                }
            }
        }
        if (c != b2) throw new IllegalStateException("coefficient count " + c + " != " + b2);
        return t;
    }
}
