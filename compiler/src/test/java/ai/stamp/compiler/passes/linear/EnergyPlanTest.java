package ai.stamp.compiler.passes.linear;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.quant.EnergyAllocator;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.ops.HaarBasis;
import ai.stamp.testmodels.TinyGraphs;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Planner + compile with energy allocation on hand-made calibration statistics, run in ORT. */
class EnergyPlanTest {
    private static final int D = 16;
    private static final OnnxMl.ModelProto BLOCK = TinyGraphs.encoderBlock(11, D, 1);
    /** Only q, k, v (input x) are quantized: the other inputs have no statistics here. */
    private static final Pattern ONLY_QKV = Pattern.compile("^(o|fc1|fc2)$");

    /** Smooth along the sequence: a few low-frequency sinusoids per feature plus a little noise. */
    static Ort.Tensor smooth(long seed, int seq) {
        Random r = new Random(seed);
        float[] v = new float[seq * D];
        for (int d = 0; d < D; d++) {
            double a1 = r.nextGaussian(), a2 = r.nextGaussian() * 0.5, f1 = r.nextDouble() * 0.05, f2 = r.nextDouble() * 0.15;
            double p1 = r.nextDouble() * 6, p2 = r.nextDouble() * 6, off = r.nextGaussian() * 0.3;
            for (int t = 0; t < seq; t++) {
                v[t * D + d] = (float) (off + a1 * Math.sin(f1 * t + p1) + a2 * Math.sin(f2 * t + p2) + 0.05 * r.nextGaussian());
            }
        }
        return new Ort.Tensor(v, new long[] {1, seq, D});
    }

    /** The statistics a calibration of x would record: per-coefficient mean energies for L = 1..3, sink = 1. */
    static ActivationStats statsOf(String tensor, Ort.Tensor x, int sink) {
        int seq = (int) x.shape()[1];
        Map<Integer, double[]> energies = new HashMap<>();
        for (int levels = 1; levels <= 3; levels++) {
            int b = 1 << levels;
            int rest = seq - sink;
            int nb = (rest + b - 1) / b;
            double[] e = new double[b];
            for (int d = 0; d < D; d++) {
                double[] col = new double[nb * b];
                for (int i = 0; i < nb * b; i++) col[i] = x.data()[(sink + Math.min(i, rest - 1)) * D + d]; // edge padding
                for (int blk = 0; blk < nb; blk++) {
                    double[] block = java.util.Arrays.copyOfRange(col, blk * b, blk * b + b);
                    HaarBasis.haar1d(block, levels);
                    for (int c = 0; c < b; c++) e[c] += block[c] * block[c];
                }
            }
            for (int c = 0; c < b; c++) e[c] /= nb;
            energies.put(levels, e);
        }
        double sinkEnergy = 0;
        for (int t = 0; t < sink; t++) for (int d = 0; d < D; d++) sinkEnergy += x.data()[t * D + d] * x.data()[t * D + d];
        return new ActivationStats(tensor, D, seq, new float[D], null, energies, sink == 0 ? 0 : sinkEnergy / sink);
    }

    private static StampConfig energy(double avg) {
        return StampConfig.builder().allocation(StampConfig.Allocation.ENERGY).avgBits(avg).exclude(ONLY_QKV).build();
    }

    private static Map<String, String> skipReasons(StampResult r) {
        return r.report().skipped().stream().collect(Collectors.toMap(StampReport.Skipped::name, StampReport.Skipped::reason));
    }

    @Test
    void layersWithoutStatisticsAreRefusedNamingCalib() {
        // statistics for x only: q, k, v are planned, o, fc1, fc2 (other inputs) are refused
        CalibrationStats stats = new CalibrationStats(Map.of("x", statsOf("x", smooth(11, 65), 1)), 1, 1);
        StampResult r = StampCompiler.compile(BLOCK, StampConfig.builder().allocation(StampConfig.Allocation.ENERGY).avgBits(5).build(), stats);
        assertEquals(List.of("q", "k", "v"), r.report().rewritten().stream().map(StampReport.Layer::name).toList());
        for (String name : List.of("o", "fc1", "fc2")) {
            String reason = skipReasons(r).get(name);
            assertNotNull(reason, name);
            assertTrue(reason.contains("--calib"), reason);
        }
        // a sink count other than the calibration's is refused too
        StampResult r2 = StampCompiler.compile(BLOCK, StampConfig.builder().allocation(StampConfig.Allocation.ENERGY).avgBits(5).sinkTokens(0).build(), stats);
        assertTrue(r2.report().rewritten().isEmpty());
        assertTrue(skipReasons(r2).get("q").contains("sink"), skipReasons(r2).get("q"));
        // 2D Haar has no 1D energies to use: the refusal names the 1D transforms
        StampResult r3 = StampCompiler.compile(BLOCK, StampConfig.builder().allocation(StampConfig.Allocation.ENERGY).avgBits(5)
                .transform("haar2d").grid(StampConfig.Grid.parse("8x8")).build(), stats);
        assertTrue(r3.report().rewritten().isEmpty());
        assertTrue(skipReasons(r3).get("q").contains("a 1D --transform (haar, dct, wht)"), skipReasons(r3).get("q"));
    }

    @Test
    void energyPlanRunsAndBeatsFixedHiTokensAtTheSameAverageBits() {
        int seq = 65;
        Ort.Tensor calib = smooth(11, seq);
        CalibrationStats stats = new CalibrationStats(Map.of("x", statsOf("x", calib, 1)), 1, 1);
        for (double avg : new double[] {4.5, 5.0, 6.0}) {
            StampResult er = StampCompiler.compile(BLOCK, energy(avg), stats);
            assertEquals(List.of("q", "k", "v"), er.report().rewritten().stream().map(StampReport.Layer::name).toList());
            EnergyAllocator.Allocation a = EnergyAllocator.of(energy(avg).precision(), 1).allocate(stats.of("x").get(), seq);
            assertTrue(a.averageBits() <= avg + 1e-9, a.toString());
            String tp = "TokenPrecision_haar1d_l" + a.levels() + "_s1_b8_e" + digits(a.coefficientBits());
            assertEquals(1, er.report().insertedFunctions().get(tp), er.report().insertedFunctions().toString());

            // fixed rule, same transform and levels, K high tokens of the T = s + nb·B transformed tokens at the same average
            int k = EnergyAllocator.matchedHiTokens(a.averageBits(), a.paddedTokens(), 8, 4);
            double fixedAvg = (k * 8.0 + (a.paddedTokens() - k) * 4.0) / a.paddedTokens();
            StampConfig fixed = StampConfig.builder().levels(a.levels()).hiTokens(k).exclude(ONLY_QKV).build();
            StampConfig baseline = energy(avg).toBuilder().mode(StampConfig.Mode.BASELINE).build();
            StampResult br = StampCompiler.compile(BLOCK, baseline, stats);
            assertEquals(List.of("q", "k", "v"), br.report().rewritten().stream().map(StampReport.Layer::name).toList());

            double eSum = 0, fSum = 0, bSum = 0;
            for (long seed = 100; seed < 104; seed++) {
                Map<String, Object> in = Map.of("x", smooth(seed, seq));
                float[] ref = Ort.run(BLOCK, in).get("hidden");
                eSum += Ort.sqnrDb(ref, Ort.run(er.model(), in).get("hidden"));
                fSum += Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(BLOCK, fixed).model(), in).get("hidden"));
                bSum += Ort.sqnrDb(ref, Ort.run(br.model(), in).get("hidden"));
            }
            double e = eSum / 4, f = fSum / 4, b = bSum / 4;
            System.out.printf(java.util.Locale.ROOT, "avg %.1f: energy %s -> %.2f dB; fixed L=%d K=%d (avg %.2f) -> %.2f dB; matched baseline -> %.2f dB%n",
                    avg, a, e, a.levels(), k, fixedAvg, f, b);
            assertTrue(e >= f - 0.05, "energy " + e + " dB < fixed " + f + " dB at avg " + avg);
        }
    }

    private static TokenPlanner planner(StampConfig c, CalibrationStats stats) {
        return new TokenPlanner(c.mode(), c.sequence(), c.precision(), stats);
    }

    @Test
    void plansCarryTheTableAndTheMatchedBaseline() {
        int seq = 65;
        CalibrationStats stats = new CalibrationStats(Map.of("x", statsOf("x", smooth(11, seq), 1)), 1, 1);
        StampResult r = StampCompiler.compile(BLOCK, energy(5), stats);
        StampReport.Layer q = r.report().rewritten().get(0);
        EnergyAllocator.Allocation a = EnergyAllocator.of(energy(5).precision(), 1).allocate(stats.of("x").get(), seq);
        String text = q.detail();
        assertTrue(text.contains("A energy L=" + a.levels() + " bits=" + java.util.Arrays.toString(a.coefficientBits()).replace(" ", "")), text);

        Graph graph = new Graph(BLOCK.getGraph());
        OnnxMl.NodeProto qNode = graph.nodes().stream().filter(n -> n.getName().equals("q")).findFirst().orElseThrow();
        Match<LinearLayer> m = new LinearLayerMatcher(energy(5).selection()).match(graph, qNode);
        LinearLayer layer = ((Match.Planned<LinearLayer>) m).plan();
        {
            TokenPlan p = ((Match.Planned<TokenPlan>) planner(energy(5), stats).plan(layer, Map.of())).plan();
            assertArrayEquals(a.coefficientBits(), p.coefficientBits());
            assertEquals(a.levels(), p.transformed().levels());
            assertEquals(a.coefficientBits().length, p.tokenPrecision().coefficientBits().length);
            TokenPlan bp = ((Match.Planned<TokenPlan>) planner(energy(5).toBuilder().mode(StampConfig.Mode.BASELINE).build(), stats)
                    .plan(layer, Map.of())).plan();
            assertEquals(EnergyAllocator.matchedHiTokens(a.averageBits(), seq, 8, 4), bp.hiTokens());
            assertTrue(bp.describeBits().contains("matched to energy avg="), bp.describeBits());
        }
    }

    private static String digits(int[] bits) {
        StringBuilder sb = new StringBuilder();
        for (int b : bits) sb.append(b);
        return sb.toString();
    }
}
