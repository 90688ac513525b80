package ai.stamp.tools.bench;

import ai.stamp.ops.FloatTensor;
import ai.stamp.ops.Haar2dSequence;
import ai.stamp.ops.HaarSequence;
import ai.stamp.ops.MixedPrecisionQdq;
import ai.stamp.ops.QuantNumerics;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Throughput of the Java reference kernels (single thread) in GB/s = (bytes read + bytes written) / time, next
 * to {@code System.arraycopy} of the input's size into a preallocated array in the same run. The ops run
 * interleaved (one timed batch of each per round, rotating order) and the report gives the median GB/s and
 * the median over rounds of the per-round ratio kernel GB/s / copy GB/s (target ≥ 0.5). The kernels allocate
 * their output (zeroing included in their time); the copy does not.
 */
public final class KernelBench {
    private KernelBench() {}

    private record Op(String name, long bytes, Runnable run) {}

    public static BenchSection run(boolean quick) {
        BenchSection sec = new BenchSection("(5) Java reference kernels (single thread)");
        int m = quick ? 2 : 8, s = quick ? 256 : 512, d = 384, levels = 3, sink = 1;
        int gridH = 16, s2 = sink + gridH * (quick ? 16 : 32);
        Random rnd = new Random(5);
        FloatTensor x1 = random(rnd, m, s, d);
        FloatTensor x2 = random(rnd, m, s2, d);
        float[] lv = new float[s];
        for (int i = 0; i < s; i++) lv[i] = QuantNumerics.steps(i < 1 + s / 8 ? 8 : 4);
        FloatTensor levelsT = new FloatTensor(lv, new long[] {s, 1});
        float[] copySrc = x1.data(), copyDst = new float[copySrc.length];
        long n1 = x1.data().length, n2 = x2.data().length;
        long t1 = m * (long) (sink + ceil(s - sink, 1 << levels) * (1 << levels)) * d;
        int b = 1 << levels, gw = (s2 - sink) / gridH;
        long t2 = m * (long) (sink + ceil(gridH, b) * ceil(gw, b) * b * b) * d;
        Object[] sinkHole = new Object[1];
        List<Op> ops = new ArrayList<>();
        ops.add(new Op("System.arraycopy", 8 * n1, () -> System.arraycopy(copySrc, 0, copyDst, 0, copySrc.length)));
        ops.add(new Op(fmt("HaarSequence.apply (1D, L=%d, sink %d)", levels, sink), 4 * (n1 + t1),
                () -> sinkHole[0] = HaarSequence.apply(x1, levels, sink)));
        ops.add(new Op(fmt("Haar2dSequence.apply (2D, L=%d, sink %d, grid %dx%d)", levels, sink, gridH, gw), 4 * (n2 + t2),
                () -> sinkHole[0] = Haar2dSequence.apply(x2, levels, sink, gridH)));
        ops.add(new Op("MixedPrecisionQdq.apply (8/4 bits)", 4 * (2 * n1 + s),
                () -> sinkHole[0] = MixedPrecisionQdq.apply(x1, levelsT)));

        // warm-up (JIT) and batch sizing: each timed batch takes about batchMs
        double batchMs = quick ? 4 : 25;
        long warmNs = (quick ? 300 : 1500) * 1_000_000L;
        int[] reps = new int[ops.size()];
        for (int i = 0; i < ops.size(); i++) {
            long t0 = System.nanoTime(), calls = 0;
            while (System.nanoTime() - t0 < warmNs / ops.size()) {
                ops.get(i).run().run();
                calls++;
            }
            double perCall = (System.nanoTime() - t0) / 1e6 / calls;
            reps[i] = (int) Math.max(1, Math.round(batchMs / perCall));
        }
        int rounds = quick ? 5 : 25;
        double[][] gbs = new double[ops.size()][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int j = 0; j < ops.size(); j++) {
                int k = (j + r) % ops.size();
                Op op = ops.get(k);
                long t0 = System.nanoTime();
                for (int rep = 0; rep < reps[k]; rep++) op.run().run();
                double sec1 = (System.nanoTime() - t0) / 1e9 / reps[k];
                gbs[k][r] = op.bytes() / sec1 / 1e9;
            }
        }
        sec.info("shapes", fmt("1D and QDQ X[%d,%d,%d], 2D X[%d,%d,%d] (float32); copy = %.1f MB", m, s, d, m, s2, d, 4.0 * n1 / 1e6));
        sec.info(ops.get(0).name() + " GB/s (read+write)", fmt("%.2f", BenchSection.median(gbs[0])));
        for (int i = 1; i < ops.size(); i++) {
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) ratio[r] = gbs[i][r] / gbs[0][r];
            double med = BenchSection.median(ratio);
            sec.check(ops.get(i).name(), fmt("%.2f GB/s = %.2f × copy", BenchSection.median(gbs[i]), med), "≥ 0.50 × copy", med >= 0.5);
        }
        sec.note(fmt("Method: %d interleaved rounds after %.1f s warm-up; each round times one batch per op (%s calls); "
                + "GB/s = (input + output bytes) / time; ratio = median over rounds of kernel GB/s / copy GB/s. "
                + "Kernel results are bit-identical to the per-element spec loops (runtime-ops tests + BlockKernels).",
                rounds, warmNs / 1e9, java.util.Arrays.toString(reps)));
        if (sinkHole[0] == null) throw new IllegalStateException();
        return sec;
    }

    private static int ceil(int a, int b) { return (a + b - 1) / b; }

    private static String fmt(String f, Object... a) { return BenchSection.fmt(f, a); }

    static FloatTensor random(Random rnd, long... shape) {
        long n = 1;
        for (long v : shape) n *= v;
        float[] a = new float[(int) n];
        for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        return new FloatTensor(a, shape);
    }
}
