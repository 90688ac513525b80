package ai.stamp.compiler.quant;

import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.config.ActivationPrecision;
import ai.stamp.ops.QuantNumerics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Energy-based bit allocation for a 1D block-transform layout (Haar, DCT, WHT; docs/method.md#energy-allocation). The
 * expected error of the quantized coefficients is bounded by (D/2) Σ_t e_t / (2^{b_t} − 1)²; within one layer every token of
 * in-block coefficient index c has the calibrated mean energy e_c, so with nb blocks the bound is
 * <pre>  bound(L, b) = s·e_sink/(2^hi − 1)² + nb · Σ_c e_c / (2^{b_c} − 1)²      (the D/2 factor dropped)</pre>
 * and the budget, counting every token of the padded sequence (sink tokens at hiBits, padding tokens at
 * their class's bits — conservative), is
 * <pre>  (s·hiBits + nb·Σ_c b_c) / (s + nb·B) ≤ avgBits.</pre>
 * For each L with calibrated energies the allocator starts every class at loBits and repeatedly gives one
 * more bit (nb bits of budget) to the class whose bound falls the most; since 1/(2^b − 1)² is convex in b
 * and every step costs the same, this greedy choice is optimal for that L. It then keeps the L whose
 * bound is smallest (ties: fewer levels).
 *
 * <p>The budget needs a sequence length S: the layer's static length when the graph has one, else the
 * calibration length (rows reduced / samples), else {@link #DEFAULT_SEQUENCE_LENGTH}.
 */
public final class EnergyAllocator {
    /** S used for budgeting when neither the graph nor the calibration tells it. */
    public static final int DEFAULT_SEQUENCE_LENGTH = 256;

    private static final double EPS = 1e-9;

    private final int hiBits;
    private final int loBits;
    private final int sinkTokens;
    private final double avgBits;

    public EnergyAllocator(int hiBits, int loBits, int sinkTokens, double avgBits) {
        QuantNumerics.steps(hiBits);
        QuantNumerics.steps(loBits);
        if (loBits > hiBits) throw new IllegalArgumentException("lo bits " + loBits + " > hi bits " + hiBits);
        if (sinkTokens < 0) throw new IllegalArgumentException("sink tokens must be >= 0, got " + sinkTokens);
        if (!(avgBits >= loBits && avgBits <= hiBits)) {
            throw new IllegalArgumentException("average bits must be in " + loBits + ".." + hiBits + ", got " + avgBits);
        }
        this.hiBits = hiBits;
        this.loBits = loBits;
        this.sinkTokens = sinkTokens;
        this.avgBits = avgBits;
    }

    /** The allocator for a precision config and the transform's sink tokens. */
    public static EnergyAllocator of(ActivationPrecision precision, int sinkTokens) {
        return new EnergyAllocator(precision.hiBits(), precision.loBits(), sinkTokens, precision.avgBits());
    }

    /**
     * One allocation.
     *
     * @param levels          L (the table has 2^L entries)
     * @param coefficientBits bits of each in-block coefficient index c
     * @param sequenceLength  S the budget was computed for
     * @param sink            s = min(sinkTokens, S)
     * @param blocks          nb = ceil((S − s) / 2^L)
     * @param averageBits     (s·hi + nb·Σ b_c) / (s + nb·2^L), padding tokens included
     * @param bound           s·e_sink/(2^hi − 1)² + nb·Σ e_c/(2^{b_c} − 1)²
     * @param withinBudget    false only when even every class at loBits exceeds the budget (the sink's
     *                        high bits alone overspend it); the table is then all loBits
     */
    public record Allocation(int levels, int[] coefficientBits, int sequenceLength, int sink, int blocks,
                             double averageBits, double bound, boolean withinBudget) {
        public int blockTokens() { return coefficientBits.length; }

        /** Tokens of the padded transformed sequence: s + nb·2^L. */
        public int paddedTokens() { return sink + blocks * blockTokens(); }

        @Override public String toString() {
            return "L=" + levels + " bits=" + Arrays.toString(coefficientBits).replace(" ", "")
                    + String.format(java.util.Locale.ROOT, " avg=%.2f", averageBits);
        }
    }

    /** The budgeting sequence length for a layer: its static length (-1: dynamic), else the calibration's, else 256. */
    public static int sequenceLength(long staticLength, ActivationStats stats, CalibrationStats calibration) {
        if (staticLength > 0) return Math.toIntExact(staticLength);
        return sequenceLength(stats, calibration);
    }

    /** The calibration's mean sequence length (rows reduced / samples), else {@link #DEFAULT_SEQUENCE_LENGTH}. */
    public static int sequenceLength(ActivationStats stats, CalibrationStats calibration) {
        if (stats != null && calibration != null && calibration.samples() > 0 && stats.tokens() >= calibration.samples()) {
            return Math.toIntExact(Math.round((double) stats.tokens() / calibration.samples()));
        }
        return DEFAULT_SEQUENCE_LENGTH;
    }

    /** The best allocation over every L the statistics hold energies for. */
    public Allocation allocate(ActivationStats stats, int sequenceLength) {
        return allocate(stats.coefficientEnergy(), stats.sinkEnergy(), sequenceLength);
    }

    /** The best allocation over every L of {@code energies} (L → e_c, 2^L entries). */
    public Allocation allocate(Map<Integer, double[]> energies, double sinkEnergy, int sequenceLength) {
        List<Allocation> all = candidates(energies, sinkEnergy, sequenceLength);
        if (all.isEmpty()) throw new IllegalArgumentException("no coefficient energies to allocate from");
        Allocation best = null;
        for (Allocation a : all) {
            if (best == null || better(a, best)) best = a;
        }
        return best;
    }

    /** One allocation per L (ascending L). */
    public List<Allocation> candidates(Map<Integer, double[]> energies, double sinkEnergy, int sequenceLength) {
        List<Allocation> out = new ArrayList<>();
        for (Map.Entry<Integer, double[]> e : new TreeMap<>(energies).entrySet()) {
            out.add(allocate(e.getKey(), e.getValue(), sinkEnergy, sequenceLength));
        }
        return out;
    }

    /** Prefers a plan within budget, then the smaller bound, then fewer levels (candidates come in ascending L). */
    private static boolean better(Allocation a, Allocation best) {
        if (a.withinBudget() != best.withinBudget()) return a.withinBudget();
        return a.bound() < best.bound() * (1 - 1e-12);
    }

    /** The greedy allocation for one L. */
    public Allocation allocate(int levels, double[] energy, double sinkEnergy, int sequenceLength) {
        int b = 1 << levels;
        if (energy.length != b) throw new IllegalArgumentException("L=" + levels + " needs " + b + " energies, got " + energy.length);
        if (sequenceLength < 1) throw new IllegalArgumentException("sequence length must be >= 1, got " + sequenceLength);
        int s = Math.min(sinkTokens, sequenceLength);
        int nb = (sequenceLength - s + b - 1) / b;
        int[] bits = new int[b];
        Arrays.fill(bits, loBits);
        long spent = (long) s * hiBits + (long) nb * b * loBits;
        double allowed = avgBits * (s + (long) nb * b) + EPS;
        boolean within = spent <= allowed;
        // every step costs nb bits (nothing to buy when there are no blocks)
        while (within && nb > 0 && spent + nb <= allowed) {
            int pick = -1;
            double gain = 0;
            for (int c = 0; c < b; c++) {
                if (bits[c] >= hiBits) continue;
                double g = Math.max(energy[c], 0) * (inverseSquare(bits[c]) - inverseSquare(bits[c] + 1));
                if (pick < 0 || g > gain) {
                    pick = c;
                    gain = g;
                }
            }
            if (pick < 0) break; // every class at hiBits
            bits[pick]++;
            spent += nb;
        }
        int sum = 0;
        for (int v : bits) sum += v;
        int tokens = s + nb * b;
        double avg = tokens == 0 ? 0 : ((double) s * hiBits + (double) nb * sum) / tokens;
        return new Allocation(levels, bits, sequenceLength, s, nb, avg, bound(s, sinkEnergy, nb, energy, bits), within);
    }

    private double bound(int s, double sinkEnergy, int nb, double[] energy, int[] bits) {
        double total = s * Math.max(sinkEnergy, 0) * inverseSquare(hiBits);
        for (int c = 0; c < bits.length; c++) total += nb * Math.max(energy[c], 0) * inverseSquare(bits[c]);
        return total;
    }

    /** 1/(2^b − 1)². */
    static double inverseSquare(int bits) {
        double q = (1L << bits) - 1;
        return 1 / (q * q);
    }

    /**
     * The high-token count K of a fixed-rule plan over {@code tokens} tokens whose average bits are closest to
     * {@code averageBits} (K·hi + (tokens − K)·lo ≈ averageBits·tokens), at least 1 (K = 0 would mean "band").
     */
    public static int matchedHiTokens(double averageBits, int tokens, int hiBits, int loBits) {
        if (hiBits == loBits) return Math.max(1, tokens);
        long k = Math.round((averageBits - loBits) * tokens / (hiBits - loBits));
        return (int) Math.max(1, Math.min(tokens, k));
    }
}
