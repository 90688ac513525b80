package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What every registered {@link SequenceTransform} promises, checked for all of them through the
 * registry: an orthogonal block matrix with the DC/approximation coefficient first, a double-precision
 * block transform that agrees with it, standard positions that are a permutation starting with the
 * band, and a closed form that agrees with them (the two routes TokenPrecision's body and kernel take).
 */
class SequenceTransformContractTest {

    /** Every registered family over a grid of geometries (2D: fewer levels, its blocks hold 4^L tokens). */
    static List<SequenceTransform> everyTransform() {
        List<SequenceTransform> out = new ArrayList<>();
        for (String id : SequenceTransforms.ids()) {
            boolean twoD = id.equals(Haar2dTransform.ID);
            for (int levels = 0; levels <= (twoD ? 3 : 5); levels++) {
                for (int sink = 0; sink <= 2; sink++) {
                    if (twoD) {
                        for (int h : new int[] {1, 5, 14}) out.add(SequenceTransforms.of(id, levels, sink, h));
                    } else {
                        out.add(SequenceTransforms.of(id, levels, sink));
                    }
                }
            }
        }
        return out;
    }

    @Test
    void registryListsTheFamiliesAndBuildsThem() {
        assertEquals(List.of("haar", "haar2d", "dct", "wht"), SequenceTransforms.ids());
        for (String id : SequenceTransforms.ids()) {
            SequenceTransform t = SequenceTransforms.of(id, 3, 1, id.equals("haar2d") ? 14 : 0);
            assertEquals(id, t.id());
            assertEquals(3, t.levels());
            assertEquals(1, t.sinkTokens());
            assertEquals(id.equals("haar2d"), t.is2d());
            assertEquals(id.equals("haar2d") ? 64 : 8, t.blockTokens());
            assertEquals(t, SequenceTransforms.of(id, 3, 1, t.gridHeight()), "transforms are values");
            assertEquals(t.hashCode(), SequenceTransforms.of(id, 3, 1, t.gridHeight()).hashCode());
            assertNotEquals(t, SequenceTransforms.of(id, 2, 1, t.gridHeight()));
            assertEquals(t.opName() + "_l3_s1" + (t.is2d() ? "_h14" : ""), t.forward().functionName());
            assertEquals(t.opName() + "Inverse_l3_s1" + (t.is2d() ? "_h14" : ""), t.inverse().functionName());
            assertEquals(SequenceLayout.of(t), t.layout());
        }
        assertInstanceOf(HaarTransform.class, SequenceTransforms.of("haar", 3, 1));
        assertEquals(SequenceLayout.haar1d(3, 1), SequenceTransforms.of("haar", 3, 1).layout());
        assertEquals(SequenceLayout.haar2d(3, 1, 14), SequenceTransforms.of("haar2d", 3, 1, 14).layout());
        assertNotEquals(SequenceTransforms.of("dct", 3, 1), SequenceTransforms.of("wht", 3, 1));
        assertThrows(IllegalArgumentException.class, () -> SequenceTransforms.of("fourier", 3, 1));
        assertThrows(IllegalArgumentException.class, () -> SequenceTransforms.of("dct", 3, 1, 14), "1D takes no grid");
        assertThrows(IllegalArgumentException.class, () -> SequenceTransforms.of("haar2d", 3, 1, 0), "2D needs a grid");
        assertThrows(IllegalArgumentException.class, () -> SequenceTransforms.of("wht", -1, 1));
        assertThrows(IllegalArgumentException.class, () -> SequenceTransforms.of("dct", 3, -1));
    }

    @Test
    void blockMatricesAreOrthogonal() {
        for (SequenceTransform t : everyTransform()) {
            if (t.sinkTokens() != 0) continue; // the matrix does not depend on the sink
            int n = t.blockTokens();
            float[] m = t.blockMatrix();
            assertEquals(n * n, m.length);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double dot = 0;
                    for (int k = 0; k < n; k++) dot += (double) m[i * n + k] * m[j * n + k];
                    assertEquals(i == j ? 1.0 : 0.0, dot, 1e-6, t + " row " + i + " . row " + j);
                }
            }
            assertArrayEquals(BlockMatrices.transpose(m, n), t.inverseBlockMatrix(), t.toString());
        }
    }

    @Test
    void coefficientZeroIsTheBlockMean() {
        // row 0 of every block matrix is the constant 1/sqrt(n): the approximation / DC coefficient
        for (SequenceTransform t : everyTransform()) {
            int n = t.blockTokens();
            float[] m = t.blockMatrix();
            for (int k = 0; k < n; k++) assertEquals(1 / Math.sqrt(n), m[k], 1e-7, t + " row 0 col " + k);
        }
    }

    @Test
    void forwardBlockAgreesWithTheBlockMatrix() {
        Random rnd = new Random(3);
        for (SequenceTransform t : everyTransform()) {
            int n = t.blockTokens();
            float[] m = t.blockMatrix();
            double[] in = new double[n], out = new double[n];
            for (int i = 0; i < n; i++) in[i] = rnd.nextGaussian();
            double[] copy = in.clone();
            t.forwardBlock(in, out);
            assertArrayEquals(copy, in, "forwardBlock leaves its input alone");
            double energyIn = 0, energyOut = 0;
            for (int c = 0; c < n; c++) {
                double expected = 0;
                for (int k = 0; k < n; k++) expected += m[c * n + k] * in[k];
                assertEquals(expected, out[c], 1e-5, t + " coefficient " + c);
                energyIn += in[c] * in[c];
                energyOut += out[c] * out[c];
            }
            assertEquals(energyIn, energyOut, 1e-9 * energyIn, t + " preserves energy");
        }
    }

    @Test
    void forwardBlockColumnsIsBitIdenticalToPerColumnCalls() {
        Random rnd = new Random(4);
        for (SequenceTransform t : everyTransform()) {
            if (t.sinkTokens() != 0 || t.blockTokens() > 64) continue;
            int n = t.blockTokens(), cols = 5;
            double[] block = new double[n * cols];
            for (int i = 0; i < block.length; i++) block[i] = rnd.nextGaussian();
            double[] copy = block.clone();
            double[] out = new double[n * cols];
            t.forwardBlockColumns(block, cols, out);
            assertArrayEquals(copy, block, "forwardBlockColumns leaves its input alone");
            double[] in = new double[n], coef = new double[n];
            for (int f = 0; f < cols; f++) {
                for (int k = 0; k < n; k++) in[k] = block[k * cols + f];
                t.forwardBlock(in, coef);
                for (int c = 0; c < n; c++) {
                    assertEquals(Double.doubleToLongBits(coef[c]), Double.doubleToLongBits(out[c * cols + f]), t + " column " + f + " coefficient " + c);
                }
            }
        }
    }

    @Test
    void standardPositionsArePermutationsBandFirstAndMatchTheClosedForm() {
        for (SequenceTransform t : everyTransform()) {
            if (t.sinkTokens() != 0) continue;
            long[][] tab = t.closedFormTables();
            int b2 = t.blockTokens();
            assertEquals(5, tab.length);
            for (long[] row : tab) assertEquals(b2, row.length);
            for (int nbh = 1; nbh <= (t.is2d() ? 4 : 1); nbh++) {
                for (int nbw = 0; nbw <= 5; nbw++) {
                    int[] pos = t.standardPositions(nbh, nbw);
                    int nb = nbh * nbw;
                    assertEquals(nb * b2, pos.length);
                    int[] sorted = pos.clone();
                    Arrays.sort(sorted);
                    for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i], t + " " + nbh + "x" + nbw + " is a permutation");
                    for (int r = 0; r < pos.length; r++) {
                        int blk = r / b2, c = r % b2, bh = blk / nbw, bw = blk % nbw;
                        // the band (c == 0 of every block) takes the first nb positions
                        assertEquals(c == 0, pos[r] < nb, t + " r=" + r);
                        long p = tab[0][c] * nb + tab[1][c] * bh * nbw + tab[2][c] * nbw + tab[3][c] * bw + tab[4][c];
                        assertEquals(pos[r], p, t + " " + nbh + "x" + nbw + " r=" + r);
                    }
                }
            }
            if (!t.is2d()) assertThrows(IllegalArgumentException.class, () -> t.standardPositions(2, 1));
        }
    }

    @Test
    void bandsAreContiguousInStandardOrderWithCoefficientZeroAlone() {
        for (SequenceTransform t : everyTransform()) {
            int b2 = t.blockTokens();
            assertThrows(IllegalArgumentException.class, () -> t.bandOf(b2));
            for (int nbh = 1; nbh <= (t.is2d() ? 3 : 1); nbh++) {
                for (int nbw = 1; nbw <= 4; nbw++) {
                    int[] pos = t.standardPositions(nbh, nbw);
                    String[] byPosition = new String[pos.length];
                    for (int r = 0; r < pos.length; r++) byPosition[pos[r]] = t.bandOf(r % b2);
                    List<String> seen = new ArrayList<>();
                    for (int p = 0; p < byPosition.length; p++) {
                        if (p == 0 || !byPosition[p].equals(byPosition[p - 1])) {
                            assertFalse(seen.contains(byPosition[p]), t + " " + nbh + "x" + nbw + ": band " + byPosition[p] + " split");
                            seen.add(byPosition[p]);
                        }
                    }
                    int nb = nbh * nbw;
                    for (int p = 0; p < byPosition.length; p++) {
                        assertEquals(p < nb, byPosition[p].equals(t.bandOf(0)), t + ": the band is exactly the first nb positions");
                    }
                }
            }
        }
        List<String> haar = new ArrayList<>(), dct = new ArrayList<>(), haar2d = new ArrayList<>();
        for (int c = 0; c < 8; c++) haar.add(SequenceTransforms.of("haar", 3, 1).bandOf(c));
        for (int c = 0; c < 8; c++) dct.add(SequenceTransforms.of("dct", 3, 1).bandOf(c));
        for (int c = 0; c < 16; c++) haar2d.add(SequenceTransforms.of("haar2d", 2, 1, 4).bandOf(c));
        assertEquals(List.of("A3", "D3", "D2", "D2", "D1", "D1", "D1", "D1"), haar);
        assertEquals(List.of("k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"), dct);
        assertEquals(List.of("LL2", "LH2", "HL2", "HH2", "LH1", "LH1", "LH1", "LH1", "HL1", "HL1", "HL1", "HL1", "HH1", "HH1", "HH1", "HH1"), haar2d);
        for (String id : SequenceTransforms.ids()) {
            assertNotEquals(id, SequenceTransforms.of(id, 1, 0, SequenceTransforms.isGrid(id) ? 2 : 0).displayName(), "a readable name");
        }
    }

    @Test
    void identityLayoutKeepsTheGeometryOfItsTransform() {
        SequenceLayout dct = SequenceTransforms.of("dct", 3, 1).layout();
        assertFalse(dct.identity());
        assertTrue(dct.identityOf().identity());
        assertEquals(dct.sequenceTransform(), dct.identityOf().sequenceTransform());
        assertEquals(SequenceLayout.haar2d(3, 1, 4), SequenceTransforms.of("haar2d", 3, 1, 4).layout());
        assertEquals(SequenceLayout.haar1d(3, 1), SequenceTransforms.of("haar", 3, 1).layout());
    }
}
