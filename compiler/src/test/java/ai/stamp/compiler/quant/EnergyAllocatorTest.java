package ai.stamp.compiler.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.compiler.calibration.CalibrationStats;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The greedy energy allocation on synthetic energy profiles. */
class EnergyAllocatorTest {
    /** Smooth-signal-like profile: approximation >> coarse details >> fine details. */
    static double[] decaying(int levels) {
        int b = 1 << levels;
        double[] e = new double[b];
        for (int c = 0; c < b; c++) {
            int level = c == 0 ? levels + 1 : levels - (31 - Integer.numberOfLeadingZeros(c)); // c=0: A, c in [2^j, 2^{j+1}): detail level L - j
            e[c] = Math.pow(4, level); // energy grows 4x per coarser level
        }
        return e;
    }

    private static double budgetAverage(EnergyAllocator.Allocation a, int hi) {
        int sum = 0;
        for (int v : a.coefficientBits()) sum += v;
        return ((double) a.sink() * hi + (double) a.blocks() * sum) / (a.sink() + a.blocks() * a.blockTokens());
    }

    @Test
    void decayingProfileGivesLowFrequenciesTheMostBits() {
        EnergyAllocator alloc = new EnergyAllocator(8, 4, 1, 5.0);
        for (int levels = 1; levels <= 4; levels++) {
            EnergyAllocator.Allocation a = alloc.allocate(levels, decaying(levels), 10, 256);
            int[] bits = a.coefficientBits();
            for (int c = 1; c < bits.length; c++) assertTrue(bits[c] <= bits[c - 1], "L=" + levels + " " + a);
            assertTrue(bits[0] > 4, a.toString());
            assertTrue(a.averageBits() <= 5.0 + 1e-12, a.toString());
            assertEquals(budgetAverage(a, 8), a.averageBits(), 1e-12);
            assertTrue(a.withinBudget());
        }
        // the table reported for L = 3, S = 256 (nb = 32, 1 sink token)
        EnergyAllocator.Allocation a3 = alloc.allocate(3, decaying(3), 10, 256);
        assertEquals(32, a3.blocks());
        assertEquals(257, a3.paddedTokens());
        System.out.println("decaying profile " + Arrays.toString(decaying(3)) + " at avg 5, S=256: " + a3
                + "; best over L=1..4: " + alloc.allocate(Map.of(1, decaying(1), 2, decaying(2), 3, decaying(3), 4, decaying(4)), 10, 256));
    }

    @Test
    void flatProfileSpendsOnlyWhatTheBudgetAllows() {
        Random rnd = new Random(3);
        for (int trial = 0; trial < 300; trial++) {
            int hi = 5 + rnd.nextInt(4);
            int lo = 2 + rnd.nextInt(hi - 2);
            int sink = rnd.nextInt(3);
            int levels = rnd.nextInt(5);
            int seq = 1 + rnd.nextInt(300);
            double avg = lo + rnd.nextDouble() * (hi - lo);
            EnergyAllocator alloc = new EnergyAllocator(hi, lo, sink, avg);
            double[] flat = new double[1 << levels];
            Arrays.fill(flat, 2.5);
            EnergyAllocator.Allocation a = alloc.allocate(levels, flat, 1, seq);
            String msg = "hi=" + hi + " lo=" + lo + " s=" + sink + " L=" + levels + " S=" + seq + " avg=" + avg + ": " + a;
            int extra = 0;
            for (int v : a.coefficientBits()) {
                assertTrue(v >= lo && v <= hi, msg);
                extra += v - lo;
            }
            // flat energies: the bits are spread as evenly as possible
            int max = Arrays.stream(a.coefficientBits()).max().getAsInt();
            int min = Arrays.stream(a.coefficientBits()).min().getAsInt();
            assertTrue(max - min <= 1, msg);
            int s = Math.min(sink, seq);
            int nb = a.blocks();
            double allowed = avg * (s + nb * (1 << levels));
            double spentAtLo = s * hi + (double) nb * (1 << levels) * lo;
            if (spentAtLo > allowed + 1e-9) {
                assertFalse(a.withinBudget(), msg);
                assertEquals(0, extra, msg);
                continue;
            }
            assertTrue(a.withinBudget(), msg);
            assertTrue(a.averageBits() <= avg + 1e-9, "budget exceeded: " + msg);
            // maximal: one more step would overspend, unless every class is already at hi or nothing to buy
            boolean full = min == hi;
            if (!full && nb > 0) assertTrue(spentAtLo + (double) nb * (extra + 1) > allowed + 1e-9, "budget left unused: " + msg);
        }
    }

    @Test
    void exactlyAtBudget() {
        // s = 1, L = 3, S = 257 -> nb = 32, 257 tokens; budget for exactly k extra steps
        for (int k : new int[] {0, 1, 5, 17, 32}) {
            double avg = (8.0 + 32.0 * (32 + k)) / 257;
            EnergyAllocator.Allocation a = new EnergyAllocator(8, 4, 1, avg).allocate(3, decaying(3), 0, 257);
            int extra = Arrays.stream(a.coefficientBits()).sum() - 32;
            assertEquals(k, extra, "k=" + k + " " + a);
            assertEquals(avg, a.averageBits(), 1e-12);
            // a hair below the budget: one step fewer
            if (k > 0) {
                EnergyAllocator.Allocation b = new EnergyAllocator(8, 4, 1, avg - 1e-6).allocate(3, decaying(3), 0, 257);
                assertEquals(k - 1, Arrays.stream(b.coefficientBits()).sum() - 32, b.toString());
            }
        }
        // the whole range: avg = hi gives every class hi bits
        assertArrayEquals(new int[] {8, 8, 8, 8}, new EnergyAllocator(8, 4, 1, 8).allocate(2, decaying(2), 1, 100).coefficientBits());
    }

    @Test
    void paddingCountsAgainstTheBudget() {
        // S = 10, s = 1, L = 3: 9 real tokens padded to 16 -> 17 budget tokens
        EnergyAllocator.Allocation a = new EnergyAllocator(8, 4, 1, 5).allocate(3, decaying(3), 1, 10);
        assertEquals(2, a.blocks());
        assertEquals(17, a.paddedTokens());
        assertTrue(a.averageBits() <= 5);
        // allowed = 85; at lo 8 + 64 = 72; each step 2 bits -> 6 steps
        assertEquals(6, Arrays.stream(a.coefficientBits()).sum() - 32, a.toString());
    }

    @Test
    void greedyMatchesBruteForce() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 40; trial++) {
            double[] e = new double[4];
            for (int c = 0; c < 4; c++) e[c] = Math.exp(rnd.nextGaussian() * 3);
            int seq = 5 + rnd.nextInt(200);
            double avg = 4 + rnd.nextDouble() * 4;
            EnergyAllocator alloc = new EnergyAllocator(8, 4, 1, avg);
            EnergyAllocator.Allocation a = alloc.allocate(2, e, 1, seq);
            if (!a.withinBudget()) continue; // the sink alone overspends: nothing to compare
            double best = Double.MAX_VALUE;
            int nb = a.blocks();
            for (int code = 0; code < 625; code++) {
                int[] b = {4 + code % 5, 4 + code / 5 % 5, 4 + code / 25 % 5, 4 + code / 125};
                int sum = b[0] + b[1] + b[2] + b[3];
                if (8 + (double) nb * sum > avg * (1 + nb * 4) + 1e-9) continue;
                double bound = 1 * EnergyAllocator.inverseSquare(8);
                for (int c = 0; c < 4; c++) bound += nb * e[c] * EnergyAllocator.inverseSquare(b[c]);
                best = Math.min(best, bound);
            }
            assertEquals(best, a.bound(), best * 1e-12, a.toString());
        }
    }

    @Test
    void picksTheLevelsWithTheLowestBound() {
        EnergyAllocator alloc = new EnergyAllocator(8, 4, 1, 5);
        Map<Integer, double[]> energies = Map.of(1, decaying(1), 2, decaying(2), 3, decaying(3));
        List<EnergyAllocator.Allocation> all = alloc.candidates(energies, 3, 256);
        assertEquals(List.of(1, 2, 3), all.stream().map(EnergyAllocator.Allocation::levels).toList());
        EnergyAllocator.Allocation best = alloc.allocate(energies, 3, 256);
        for (EnergyAllocator.Allocation a : all) assertTrue(best.bound() <= a.bound(), best + " vs " + a);
        // make L = 2 clearly the best: its energy compacts perfectly, the others' are flat
        Map<Integer, double[]> rigged = Map.of(1, new double[] {50, 50}, 2, new double[] {100, 0, 0, 0}, 3, new double[] {25, 25, 25, 25, 25, 25, 25, 25});
        assertEquals(2, alloc.allocate(rigged, 0, 256).levels());
        // and L = 3 when its profile is the steepest
        Map<Integer, double[]> rigged3 = Map.of(1, new double[] {50, 50}, 2, new double[] {25, 25, 25, 25}, 3, new double[] {800, 0, 0, 0, 0, 0, 0, 0});
        assertEquals(3, alloc.allocate(rigged3, 0, 256).levels());
    }

    @Test
    void infeasibleBudgetFallsBackToLoBits() {
        // the sink's 8 bits alone push the average above 4
        EnergyAllocator.Allocation a = new EnergyAllocator(8, 4, 1, 4).allocate(3, decaying(3), 1, 64);
        assertFalse(a.withinBudget());
        assertArrayEquals(new int[] {4, 4, 4, 4, 4, 4, 4, 4}, a.coefficientBits());
        // no sink: avg = lo is exactly feasible
        EnergyAllocator.Allocation b = new EnergyAllocator(8, 4, 0, 4).allocate(3, decaying(3), 1, 64);
        assertTrue(b.withinBudget());
        assertEquals(4.0, b.averageBits());
    }

    @Test
    void sequenceLengthAndMatchedTokens() {
        assertEquals(256, EnergyAllocator.sequenceLength(null, ai.stamp.compiler.calibration.CalibrationStats.NONE));
        assertEquals(16, EnergyAllocator.matchedHiTokens(4.5, 128, 8, 4));
        assertEquals(1, EnergyAllocator.matchedHiTokens(4.0, 128, 8, 4));
        assertEquals(128, EnergyAllocator.matchedHiTokens(8.0, 128, 8, 4));
        assertThrows(IllegalArgumentException.class, () -> new EnergyAllocator(8, 4, 1, 3.9));
        assertThrows(IllegalArgumentException.class, () -> new EnergyAllocator(8, 4, 1, 5).allocate(3, new double[4], 0, 64));
    }
}
