package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The Haar definitions: orthogonality, band order, and block layout == permuted global transform. */
class HaarBasisTest {

    private static void assertOrthogonal(float[] m, int n) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double dot = 0;
                for (int k = 0; k < n; k++) dot += (double) m[i * n + k] * m[j * n + k];
                assertEquals(i == j ? 1.0 : 0.0, dot, 1e-6, "row " + i + " . row " + j);
            }
        }
    }

    @Test
    void blockMatricesAreOrthogonal() {
        for (int l = 0; l <= 4; l++) assertOrthogonal(HaarBasis.blockMatrix1d(l), 1 << l);
        for (int l = 0; l <= 3; l++) assertOrthogonal(HaarBasis.blockMatrix2d(l), 1 << (2 * l));
    }

    @Test
    void oneLevelMatricesHaveTheDocumentedBandOrder() {
        float r = (float) (1 / Math.sqrt(2));
        assertArrayEquals(new float[] {r, r, r, -r}, HaarBasis.blockMatrix1d(1), 1e-7f);
        // block [[a, b], [c, d]] row-major: LL, LH (low along rows, high along columns), HL, HH
        assertArrayEquals(new float[] {
                .5f, .5f, .5f, .5f,
                .5f, .5f, -.5f, -.5f,
                .5f, -.5f, .5f, -.5f,
                .5f, -.5f, -.5f, .5f}, HaarBasis.blockMatrix2d(1), 1e-7f);
    }

    @Test
    void threeLevel1dMatrixFollowsStandardOrder() {
        float[] h = HaarBasis.blockMatrix1d(3);
        // approximation = mean·sqrt(8); level-3 detail = (sum first half - sum second half)/sqrt(8)
        for (int k = 0; k < 8; k++) {
            assertEquals(1 / Math.sqrt(8), h[k], 1e-7);
            assertEquals((k < 4 ? 1 : -1) / Math.sqrt(8), h[8 + k], 1e-7);
            // first level-1 detail (row 4) = (x0 - x1)/sqrt 2
            assertEquals(k == 0 ? 1 / Math.sqrt(2) : k == 1 ? -1 / Math.sqrt(2) : 0, h[4 * 8 + k], 1e-7);
        }
    }

    /** Block layout (kernel of HaarSequence) permuted by standardPositions == global level-by-level DWT. */
    @Test
    void blockLayout1dIsAPermutationOfTheGlobalTransform() {
        Random rnd = new Random(1);
        for (int levels : new int[] {0, 1, 2, 3}) {
            for (int sink : new int[] {0, 1, 2}) {
                for (int s : new int[] {1, 5, 8, 9, 33, 64, 100}) {
                    FloatTensor x = OrtHarness.random(rnd, s, 3);
                    FloatTensor z = HaarSequence.apply(x, levels, sink);
                    BlockGeometry g = BlockGeometry.of(SequenceLayout.haar1d(levels, sink), s);
                    int len = g.blocks() * g.blockSide();
                    int[] pos = HaarBasis.standardPositions(true, levels, 1, g.blocks());
                    assertPermutation(pos, len);
                    for (int f = 0; f < 3; f++) {
                        double[] seq = new double[len];
                        for (int i = 0; i < g.rest(); i++) seq[i] = x.data()[(g.sink() + i) * 3 + f];
                        HaarBasis.haar1d(seq, levels);
                        for (int r = 0; r < len; r++) {
                            assertEquals(seq[pos[r]], z.data()[(g.sink() + r) * 3 + f], 1e-5,
                                    "L=" + levels + " sink=" + sink + " S=" + s + " token " + r);
                        }
                    }
                }
            }
        }
    }

    @Test
    void blockLayout2dIsAPermutationOfTheGlobalTransform() {
        Random rnd = new Random(2);
        int[][] grids = {{4, 4}, {5, 7}, {14, 14}, {8, 3}, {1, 9}};
        for (int levels : new int[] {0, 1, 2, 3}) {
            for (int sink : new int[] {0, 1}) {
                for (int[] hw : grids) {
                    int hg = hw[0], wg = hw[1];
                    FloatTensor x = OrtHarness.random(rnd, sink + hg * wg, 2);
                    FloatTensor z = Haar2dSequence.apply(x, levels, sink, hg);
                    BlockGeometry g = BlockGeometry.of(SequenceLayout.haar2d(levels, sink, hg), sink + hg * wg);
                    int b = g.blockSide(), rows = g.nbh() * b, cols = g.nbw() * b;
                    int[] pos = HaarBasis.standardPositions(false, levels, g.nbh(), g.nbw());
                    assertPermutation(pos, rows * cols);
                    for (int f = 0; f < 2; f++) {
                        double[] grid = new double[rows * cols];
                        for (int i = 0; i < hg; i++) {
                            for (int j = 0; j < wg; j++) grid[i * cols + j] = x.data()[(sink + i * wg + j) * 2 + f];
                        }
                        double[] std = HaarBasis.haar2d(grid, rows, cols, levels);
                        for (int r = 0; r < rows * cols; r++) {
                            assertEquals(std[pos[r]], z.data()[(sink + r) * 2 + f], 1e-5,
                                    "L=" + levels + " grid " + hg + "x" + wg + " token " + r);
                        }
                    }
                }
            }
        }
    }

    /** The closed form the TokenPrecision body evaluates agrees with the band walk, on many geometries. */
    @Test
    void closedFormMatchesBandWalk() {
        for (boolean oneD : new boolean[] {true, false}) {
            for (int levels = 0; levels <= 3; levels++) {
                long[][] tab = HaarBasis.closedFormTables(oneD, levels);
                int b = 1 << levels, b2 = oneD ? b : b * b;
                for (int nbh = 1; nbh <= (oneD ? 1 : 4); nbh++) {
                    for (int nbw = 0; nbw <= 5; nbw++) {
                        int[] pos = HaarBasis.standardPositions(oneD, levels, nbh, nbw);
                        int nb = nbh * nbw;
                        for (int r = 0; r < pos.length; r++) {
                            int blk = r / b2, c = r % b2, bh = blk / nbw, bw = blk % nbw;
                            long p = tab[0][c] * nb + tab[1][c] * bh * nbw + tab[2][c] * nbw + tab[3][c] * bw + tab[4][c];
                            assertEquals(pos[r], p, (oneD ? "1D" : "2D") + " L=" + levels + " " + nbh + "x" + nbw + " r=" + r);
                        }
                    }
                }
            }
        }
    }

    private static void assertPermutation(int[] pos, int n) {
        assertEquals(n, pos.length);
        int[] sorted = pos.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < n; i++) assertEquals(i, sorted[i]);
        assertTrue(n == 0 || pos[0] == 0, "block 0's approximation coefficient comes first");
    }
}
