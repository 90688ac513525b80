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

    @Test
    void haar1dKernelMatchesOrt() {
        int[] raw = {1, 2, 7, 8, 9, 33, 256};
        for (int levels : new int[] {0, 1, 3}) {
            for (int sink : new int[] {0, 1, 2}) {
                SequenceLayout layout = SequenceLayout.haar1d(levels, sink);
                List<Integer> lengths = transformedLengths(layout, raw);
                for (int k : new int[] {0, 3, 16, 64}) checkAgainstOrt(new TokenPrecision(layout, 8, 4, k), lengths, 2 + (levels + sink) % 3);
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
        for (SequenceLayout l : new SequenceLayout[] {SequenceLayout.haar1d(3, 1), SequenceLayout.haar2d(2, 1, 5)}) {
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
    }

    @Test
    void functionNames() {
        assertEquals("TokenPrecision_haar1d_l3_s1_b8-4_band", new TokenPrecision(SequenceLayout.haar1d(3, 1), 8, 4, 0).functionName());
        assertEquals("TokenPrecision_haar2d_l3_s1_h14_b8-4_k64", new TokenPrecision(SequenceLayout.haar2d(3, 1, 14), 8, 4, 64).functionName());
        assertTrue(new TokenPrecision(SequenceLayout.haar1d(3, 1).identityOf(), 8, 4, 0).functionName().startsWith("TokenPrecision_identity_"));
    }
}
