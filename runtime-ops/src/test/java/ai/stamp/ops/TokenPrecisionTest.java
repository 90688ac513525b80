package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** TokenPrecision: kernel vs ORT for every layout and mode, and the high-token counts the spec promises. */
class TokenPrecisionTest {
    static final int[] OPSETS = {11, 13, 18, 21};

    private static int hiCount(FloatTensor levels, int hiBits) {
        int n = 0;
        for (float v : levels.data()) if (v == QuantNumerics.steps(hiBits)) n++;
        return n;
    }

    /** Transformed token counts T for a layout, from a list of raw lengths S. */
    private static List<Integer> transformedLengths(SequenceLayout layout, int[] rawLengths) {
        List<Integer> out = new ArrayList<>();
        for (int s : rawLengths) out.add(BlockGeometry.of(layout, s).transformedLength());
        return out;
    }

    private static void checkAgainstOrt(TokenPrecision op, List<Integer> lengths, int rank) {
        for (int opset : OPSETS) {
            for (int t : lengths) {
                long[] shape = OrtHarness.shapeOfRank(rank, t, 2);
                FloatTensor z = FloatTensor.zeros(shape);
                FloatTensor kernel = op.reference(z);
                FloatTensor ort = OrtHarness.run(op, opset, z);
                assertArrayEquals(new long[] {t, 1}, ort.shape(), op.functionName() + "@" + opset + " T=" + t);
                assertArrayEquals(kernel.data(), ort.data(), op.functionName() + "@" + opset + " T=" + t);
            }
        }
    }

    /** Band and hi-tokens K modes of a 1D transform's layout, kernel vs ORT. */
    private static void oneDimensionalMatchesOrt(String id) {
        int[] raw = {1, 2, 7, 8, 9, 33, 256};
        for (int levels : new int[] {0, 1, 3}) {
            for (int sink : new int[] {0, 1, 2}) {
                SequenceLayout layout = SequenceTransforms.of(id, levels, sink).layout();
                List<Integer> lengths = transformedLengths(layout, raw);
                for (int k : new int[] {0, 3, 16, 64}) checkAgainstOrt(new TokenPrecision(layout, 8, 4, k), lengths, 2 + (levels + sink) % 3);
            }
        }
    }

    @Test
    void haar1dKernelMatchesOrt() { oneDimensionalMatchesOrt(HaarTransform.ID); }

    @Test
    void dctKernelMatchesOrt() { oneDimensionalMatchesOrt(DctTransform.ID); }

    @Test
    void whtKernelMatchesOrt() { oneDimensionalMatchesOrt(WhtTransform.ID); }

    @Test
    void frequencyTransformsRankTokensFrequencyMajor() {
        // DCT / WHT: K = sink + j·nb high tokens are exactly the sink and in-block coefficients c < j
        for (String id : new String[] {DctTransform.ID, WhtTransform.ID}) {
            SequenceLayout l = SequenceTransforms.of(id, 3, 1).layout();
            BlockGeometry g = BlockGeometry.of(l, 1 + 40); // 5 blocks of 8
            int t = g.transformedLength();
            for (int j = 0; j <= 8; j++) {
                boolean[] hi = new TokenPrecision(l, 8, 4, 1 + j * g.blocks()).hiMask(t);
                for (int r = 0; r < t; r++) assertEquals(r == 0 || (r - 1) % 8 < j, hi[r], id + " j=" + j + " token " + r);
            }
            // K between two frequencies: the first blocks' coefficient j come first, block by block
            boolean[] hi = new TokenPrecision(l, 8, 4, 1 + 5 + 2).hiMask(t);
            for (int r = 1; r < t; r++) assertEquals((r - 1) % 8 == 0 || r == 1 + 1 || r == 1 + 8 + 1, hi[r], id + " token " + r);
        }
    }

    @Test
    void frequencyTransformsShareTheIdentityBaselineOfTheirGeometry() {
        // the baseline depends only on the geometry: the same function as Haar's, byte for byte
        for (String id : new String[] {DctTransform.ID, WhtTransform.ID}) {
            for (int k : new int[] {0, 10}) {
                TokenPrecision base = new TokenPrecision(SequenceTransforms.of(id, 3, 1).layout().identityOf(), 8, 4, k);
                TokenPrecision haarBase = new TokenPrecision(SequenceLayout.haar1d(3, 1).identityOf(), 8, 4, k);
                assertEquals(haarBase.functionName(), base.functionName());
                assertEquals(haarBase.function(13), base.function(13));
            }
        }
    }

    @Test
    void haar2dKernelMatchesOrt() {
        for (int levels : new int[] {0, 1, 3}) {
            for (int sink : new int[] {0, 1}) {
                for (int[] hw : new int[][] {{4, 4}, {5, 7}, {14, 14}}) {
                    SequenceLayout layout = SequenceLayout.haar2d(levels, sink, hw[0]);
                    List<Integer> lengths = transformedLengths(layout, new int[] {sink + hw[0] * hw[1], sink + hw[0] * 2 * hw[1]});
                    if (sink > 0) lengths.add(sink); // no grid tokens at all
                    for (int k : new int[] {0, 5, 64}) checkAgainstOrt(new TokenPrecision(layout, 8, 4, k), lengths, 3);
                }
            }
        }
    }

    @Test
    void identityKernelMatchesOrt() {
        int[] raw = {1, 2, 7, 8, 9, 33, 256};
        for (int sink : new int[] {0, 1, 2}) {
            for (int k : new int[] {0, 10}) {
                List<Integer> lengths = new ArrayList<>();
                for (int s : raw) lengths.add(s);
                checkAgainstOrt(new TokenPrecision(SequenceLayout.haar1d(3, sink).identityOf(), 8, 4, k), lengths, 2 + sink);
                // 2D baseline on 4x4, 4x7, 4x9 grids (band 1, 2, 3 blocks at 2 levels) and on fewer tokens than the sink
                List<Integer> grid = new ArrayList<>(List.of(sink + 16, sink + 28, sink + 36));
                if (sink > 1) grid.add(1);
                checkAgainstOrt(new TokenPrecision(SequenceLayout.haar2d(2, sink, 4).identityOf(), 8, 4, k), grid, 3);
            }
        }
    }

    @Test
    void bandModeGivesSinkPlusOneTokenPerBlock() {
        SequenceLayout l1 = SequenceLayout.haar1d(3, 1);
        for (int s : new int[] {1, 2, 9, 33, 256, 257}) {
            BlockGeometry g = BlockGeometry.of(l1, s);
            FloatTensor q = new TokenPrecision(l1, 8, 4, 0).apply(g.transformedLength());
            assertEquals(g.sink() + g.blocks(), hiCount(q, 8), "S=" + s);
            assertEquals(Math.min(1, s) + (int) Math.ceil((s - Math.min(1, s)) / 8.0), hiCount(q, 8));
            // the matched baseline gives the same number of high tokens, on the raw sequence
            FloatTensor base = new TokenPrecision(l1.identityOf(), 8, 4, 0).apply(s);
            assertEquals(g.sink() + g.blocks(), hiCount(base, 8), "identity S=" + s);
            for (int t = 0; t < g.sink() + g.blocks(); t++) assertEquals(255f, base.data()[t]);
        }
        SequenceLayout l2 = SequenceLayout.haar2d(3, 1, 14);
        BlockGeometry g = BlockGeometry.of(l2, 1 + 14 * 14);
        assertEquals(4, g.blocks());
        assertEquals(5, hiCount(new TokenPrecision(l2, 8, 4, 0).apply(g.transformedLength()), 8));
        assertEquals(5, hiCount(new TokenPrecision(l2.identityOf(), 8, 4, 0).apply(1 + 14 * 14), 8));
    }

    @Test
    void kModeGivesMinOfKAndT() {
        for (SequenceLayout l : new SequenceLayout[] {SequenceLayout.haar1d(3, 1), SequenceLayout.haar2d(2, 1, 5),
                SequenceTransforms.of("dct", 3, 1).layout(), SequenceTransforms.of("wht", 2, 0).layout()}) {
            for (int s : new int[] {1, 11, 36, 101}) {
                if (l.is2d() && (s - 1) % 5 != 0) continue;
                int t = BlockGeometry.of(l, s).transformedLength();
                for (int k : new int[] {1, 4, 16, 64, 1000}) {
                    TokenPrecision op = new TokenPrecision(l, 8, 4, k);
                    assertEquals(Math.min(k, t), hiCount(op.apply(t), 8), op.functionName() + " T=" + t);
                    assertEquals(Math.min(k, s), hiCount(new TokenPrecision(l.identityOf(), 8, 4, k).apply(s), 8));
                }
            }
        }
    }

    @Test
    void kModeEqualToBandSelectsTheBand() {
        // K = sink + nb must pick exactly the approximation tokens (c == 0), as band mode does
        SequenceLayout l = SequenceLayout.haar2d(3, 1, 14);
        int t = BlockGeometry.of(l, 1 + 14 * 14).transformedLength();
        assertArrayEquals(new TokenPrecision(l, 8, 4, 0).apply(t).data(), new TokenPrecision(l, 8, 4, 5).apply(t).data());
        SequenceLayout l1 = SequenceLayout.haar1d(3, 1);
        int t1 = BlockGeometry.of(l1, 257).transformedLength();
        assertArrayEquals(new TokenPrecision(l1, 8, 4, 0).apply(t1).data(), new TokenPrecision(l1, 8, 4, 33).apply(t1).data());
        for (String id : new String[] {DctTransform.ID, WhtTransform.ID}) {
            SequenceLayout lf = SequenceTransforms.of(id, 3, 1).layout();
            assertArrayEquals(new TokenPrecision(lf, 8, 4, 0).apply(t1).data(), new TokenPrecision(lf, 8, 4, 33).apply(t1).data(), id);
        }
    }

    @Test
    void functionNames() {
        assertEquals("TokenPrecision_haar1d_l3_s1_b8-4_band", new TokenPrecision(SequenceLayout.haar1d(3, 1), 8, 4, 0).functionName());
        assertEquals("TokenPrecision_haar2d_l3_s1_h14_b8-4_k64", new TokenPrecision(SequenceLayout.haar2d(3, 1, 14), 8, 4, 64).functionName());
        assertTrue(new TokenPrecision(SequenceLayout.haar1d(3, 1).identityOf(), 8, 4, 0).functionName().startsWith("TokenPrecision_identity_"));
        TokenPrecision dct = new TokenPrecision(SequenceTransforms.of("dct", 3, 1).layout(), 8, 4, 0);
        assertEquals("TokenPrecision_dct_l3_s1_b8-4_band", dct.functionName());
        assertEquals("layout=DCT levels=3 sink_tokens=1 bits=8/4 hi_tokens=band", dct.describe());
        assertEquals("TokenPrecision_wht_l2_s0_b8-4_k16", new TokenPrecision(SequenceTransforms.of("wht", 2, 0).layout(), 8, 4, 16).functionName());
        assertEquals("TokenPrecision_wht_l3_s1_b8_e88544444",
                TokenPrecision.withTable(SequenceTransforms.of("wht", 3, 1).layout(), 8, new int[] {8, 8, 5, 4, 4, 4, 4, 4}).functionName());
    }

    // ------------------------------------------------------------------ bit table (energy allocation)

    private static void checkTableAgainstOrt(TokenPrecision op, List<Integer> lengths, int rank) {
        for (int opset : new int[] {11, 13, 18}) {
            for (int t : lengths) {
                FloatTensor z = FloatTensor.zeros(OrtHarness.shapeOfRank(rank, t, 3));
                FloatTensor kernel = op.reference(z);
                FloatTensor ort = OrtHarness.run(op, opset, z);
                assertArrayEquals(new long[] {t, 1}, ort.shape(), op.functionName() + "@" + opset + " T=" + t);
                assertArrayEquals(kernel.data(), ort.data(), op.functionName() + "@" + opset + " T=" + t);
            }
        }
    }

    @Test
    void tableKernelMatchesOrt() {
        List<Integer> lengths = new ArrayList<>();
        for (int t = 1; t <= 70; t++) lengths.add(t);
        int[][] tables1d = {{6}, {8, 5}, {8, 6, 5, 5}, {8, 8, 5, 4, 4, 4, 4, 4}, {3, 4, 5, 6, 7, 8, 2, 4}};
        for (int[] table : tables1d) {
            int levels = Integer.numberOfTrailingZeros(table.length);
            for (int sink : new int[] {0, 1, 3}) {
                for (String id : new String[] {HaarTransform.ID, DctTransform.ID, WhtTransform.ID}) {
                    checkTableAgainstOrt(TokenPrecision.withTable(SequenceTransforms.of(id, levels, sink).layout(), 8, table), lengths, 2 + sink % 3);
                }
            }
        }
        // 2D: B2 = 4^L entries, 16 at L = 2 (digits tag) and 64 at L = 3 (hash tag)
        int[] t16 = new int[16];
        int[] t64 = new int[64];
        for (int c = 0; c < 16; c++) t16[c] = 8 - c / 4;
        for (int c = 0; c < 64; c++) t64[c] = c == 0 ? 8 : c < 4 ? 6 : 4;
        for (int sink : new int[] {0, 1}) {
            checkTableAgainstOrt(TokenPrecision.withTable(SequenceLayout.haar2d(2, sink, 4), 7, t16), lengths, 3);
            checkTableAgainstOrt(TokenPrecision.withTable(SequenceLayout.haar2d(3, sink, 8), 8, t64), List.of(1, 2, 64, 65, 129), 3);
        }
    }

    @Test
    void tableGivesSinkHiBitsAndCoefficientBitsAfter() {
        int[] table = {8, 8, 5, 4, 4, 4, 4, 4};
        TokenPrecision op = TokenPrecision.withTable(SequenceLayout.haar1d(3, 2), 7, table);
        int[] bits = op.bitsPerToken(21);
        assertEquals(7, bits[0]);
        assertEquals(7, bits[1]);
        for (int t = 2; t < 21; t++) assertEquals(table[(t - 2) % 8], bits[t], "t=" + t);
        // fewer tokens than the sink: every token is a sink token
        assertArrayEquals(new int[] {7}, op.bitsPerToken(1));
        float[] q = op.apply(10).data();
        assertEquals(127f, q[0]);
        assertEquals(255f, q[2]);
        assertEquals(31f, q[4]);
        assertEquals(15f, q[9]);
        assertArrayEquals(new int[] {8, 8, 5, 4, 4, 4, 4, 4}, op.coefficientBits());
    }

    @Test
    void tableValidationAndNames() {
        SequenceLayout l = SequenceLayout.haar1d(3, 1);
        assertEquals("TokenPrecision_haar1d_l3_s1_b8_e88544444", TokenPrecision.withTable(l, 8, new int[] {8, 8, 5, 4, 4, 4, 4, 4}).functionName());
        org.junit.jupiter.api.Assertions.assertNotEquals(
                TokenPrecision.withTable(l, 8, new int[] {8, 8, 5, 4, 4, 4, 4, 4}).functionName(),
                TokenPrecision.withTable(l, 8, new int[] {8, 5, 5, 4, 4, 4, 4, 4}).functionName());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> TokenPrecision.withTable(l, 8, new int[] {8, 4}));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> TokenPrecision.withTable(l, 8, new int[] {8, 8, 5, 4, 4, 4, 4, 9}));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> TokenPrecision.withTable(l.identityOf(), 8, new int[8]));
        int[] t64 = new int[64];
        java.util.Arrays.fill(t64, 4);
        String name = TokenPrecision.withTable(SequenceLayout.haar2d(3, 1, 8), 8, t64).functionName();
        assertTrue(name.matches("TokenPrecision_haar2d_l3_s1_h8_b8_x[0-9a-f]{12}"), name);
    }
}
