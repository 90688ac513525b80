package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import ai.stamp.ops.IntegerHarness.Forms;
import ai.stamp.ops.IntegerHarness.Out;
import ai.stamp.ops.IntegerHarness.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * MixedPrecisionQuantize and ScaledMatMulInteger (docs/method.md (#activation-quantization-numerics, #integer-form)), in every body form at every opset where
 * the form is valid ({@link Forms#at}: MixedPrecisionQuantize ARITHMETIC / QUANTIZE_LINEAR (opset 13+) / ONNXRUNTIME,
 * times ScaledMatMulInteger STANDARD / ONNXRUNTIME): ORT (the function bodies, inlined) vs the Java kernels, and the
 * integer chain vs the simulation form {@code MixedPrecisionQdq(Z) · (Wq ⊙ w_scale)}.
 *
 * <p>Tolerances. Zq: bit-exact vs the kernel, except the tie documented at {@link MixedPrecisionQuantize.Form}: the
 * QuantizeLinear forms saturate at 255, not at q, so a token with q < 255 may get q + 1 where z / scale and
 * -min / scale both sit exactly on a rounding tie (checked per element; never for an 8-bit token). scale bit-exact,
 * zero_point bit-exact up to the sign of zero. (Zq - zp)·scale vs MixedPrecisionQdq: bit-exact kernel vs kernel, and ORT
 * vs ORT up to the sign of zero ({@link #assertSameValues}: the bodies write -0 where the kernels write +0, which is
 * invisible to every later Add, Mul and Cast), one step apart exactly at those ties. ScaledMatMulInteger ORT vs kernel
 * on the same integer inputs: STANDARD 1e-6 relative per element (only the int32 -> float cast and the two scale
 * products round); ONNXRUNTIME takes the zero-point correction in float after the scaling, so per element |ΔY| <= 1e-6
 * of the two terms it subtracts, {@code (|acc| + |zp·colsum|)·scale·w_scale}. Integer chain vs float simulation, every
 * form combination: max |ΔY| / max |Y| <= 1e-5 per case (the issue's "integer form = simulation form to float
 * rounding"), and per token row |ΔY| <= 1e-5 · max_n Σ_d |ẑ_d|·|Wq_dn·s_n| so the huge-magnitude rows cannot hide an
 * error in the ordinary ones. At a q + 1 tie the integer GEMM multiplies one step more than the simulation; that step,
 * scale·Wq[d, :]·w_scale, is added to the simulation before these tolerances (so nothing else can hide in those rows),
 * and the raw size of the difference is reported: the sweep has three such rows per opset (exact half-integer ties of
 * its integer-valued rows), where it is a whole quantization step, up to a quarter of the row's max |Y|.
 */
class IntegerOpsTest {
    static final int[] OPSETS = {11, 13, 18, 21};
    static final float[] LEVELS = {255f, 15f, 3f};
    static final int[] TS = {1, 2, 7, 33};
    static final int[] DS = {1, 8, 64};
    static final int[] NS = {1, 5, 16};

    /** (opset, forms) for every form combination valid at each opset: 4 at opset 11, 6 from opset 13. */
    static Stream<Arguments> combinations() {
        List<Arguments> all = new ArrayList<>();
        for (int opset : OPSETS) for (Forms f : Forms.at(opset)) all.add(Arguments.of(opset, f));
        return all.stream();
    }

    // ------------------------------------------------------------------ measured maxima (for the report)

    /** Measured maxima of one form combination over the opsets, printed after the class; the assertions are below. */
    static final class Worst {
        long zqTotal, ties, ties15, ties3, signedZeros;
        long tieRows;
        double mmiRel, mmiTermRel, mmiCaseRel, chainSweep, chainMiniLm, chainRowRel, chainBound, tieRowRawRel, tieRowRawBound;
        String chainBoundWhere = "";
    }

    private static final Map<String, Worst> WORST = new TreeMap<>();
    private static double maxKernelChainBound;

    static Worst worst(Forms f) { return WORST.computeIfAbsent(f.toString(), k -> new Worst()); }

    @AfterAll
    static void report() {
        StringBuilder s = new StringBuilder("IntegerOpsTest, max over opsets ").append(Arrays.toString(OPSETS))
                .append(" (kernel chain vs double simulation, per row vs sum|terms|: ").append(String.format("%.3g", maxKernelChainBound)).append(")\n");
        WORST.forEach((k, w) -> s.append(String.format(
                "  %-29s Zq q+1 ties %d of %d (q=15: %d, q=3: %d; +0/-0 %d) | ScaledMatMulInteger ORT vs kernel: elem rel %.3g, |dY|/terms %.3g, "
                        + "max|dY|/max|Y| %.3g | chain vs simulation max|dY|/max|Y|: sweep %.3g, MiniLM %.3g; per row %.3g, per row vs sum|terms| %.3g "
                        + "(%s) | rows with a q+1 tie %d: raw max|dY| / row max|Y| %.3g, / sum|terms| %.3g%n",
                k, w.ties, w.zqTotal, w.ties15, w.ties3, w.signedZeros, w.mmiRel, w.mmiTermRel, w.mmiCaseRel, w.chainSweep, w.chainMiniLm,
                w.chainRowRel, w.chainBound, w.chainBoundWhere, w.tieRows, w.tieRowRawRel, w.tieRowRawBound)));
        System.out.print(s);
    }

    // ------------------------------------------------------------------ data

    /** One test case: Z, levels and a weight; the row kinds rotate by a per-case salt so every shape sees every kind. */
    record Case(FloatTensor z, FloatTensor levels, Weights w) {
        int d() { return (int) z.dim(-1); }
        int t() { return (int) z.dim(-2); }
        int rows() { return z.data().length / d(); }
        @Override public String toString() { return "Z" + Arrays.toString(z.shape()) + " N=" + w.n(); }
    }

    static final int KINDS = 11;

    /**
     * Rows of: mixed signs, all positive, all negative, all zero, a constant, exact ties, huge (1e30), range below EPS
     * (1e-9), tiny (1e-30), a single spike, a negative constant.
     */
    static FloatTensor input(Random rnd, int salt, long... shape) {
        FloatTensor z = OrtHarness.random(rnd, shape);
        int d = (int) shape[shape.length - 1];
        float[] a = z.data();
        for (int r = 0; r < a.length / d; r++) {
            int kind = (r + salt) % KINDS;
            float c = (float) ((0.1 + 10 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1));
            int spike = rnd.nextInt(d);
            for (int i = 0; i < d; i++) {
                int k = r * d + i;
                switch (kind) {
                    case 1 -> a[k] = Math.abs(a[k]) * 3;
                    case 2 -> a[k] = -Math.abs(a[k]);
                    case 3 -> a[k] = 0f;
                    case 4 -> a[k] = c;
                    case 5 -> a[k] = (float) Math.rint(a[k] * 8);
                    case 6 -> a[k] *= 1e30f;
                    case 7 -> a[k] *= 1e-9f;
                    case 8 -> a[k] *= 1e-30f;
                    case 9 -> a[k] = i == spike ? 50 * c : 0f;
                    case 10 -> a[k] = -Math.abs(c);
                    default -> { }
                }
            }
        }
        return z;
    }

    /** q per token from {255, 15, 3}; with T >= 3 the first three tokens hold all three in a random order. */
    static FloatTensor levels(Random rnd, int t) {
        FloatTensor q = FloatTensor.zeros(t, 1);
        int first = rnd.nextInt(3);
        for (int i = 0; i < t; i++) q.data()[i] = i < 3 ? LEVELS[(first + i) % 3] : LEVELS[rnd.nextInt(3)];
        return q;
    }

    /** The sweep: ranks 2, 3, 4 x T in {1, 2, 7, 33} x D in {1, 8, 64}, N cycling through {1, 5, 16}. */
    static List<Case> sweep(long seed) {
        Random rnd = new Random(seed);
        List<Case> cases = new ArrayList<>();
        int i = 0;
        for (int rank = 2; rank <= 4; rank++) {
            for (int t : TS) {
                for (int d : DS) {
                    int n = NS[i++ % NS.length];
                    cases.add(new Case(input(rnd, rnd.nextInt(KINDS), OrtHarness.shapeOfRank(rank, t, d)), levels(rnd, t),
                            Weights.random(rnd, d, n)));
                }
            }
        }
        return cases;
    }

    /** The sweep, shared by the checks below: each looks at a different side of the same ORT runs. */
    static final List<Case> SWEEP = sweep(1);

    /** MiniLM's linear layers: 384 -> 1536 and 1536 -> 384, random int8 weights in [-127, 127]. */
    static final List<Case> MINILM;

    static {
        Random rnd = new Random(384);
        MINILM = List.of(
                new Case(input(rnd, 0, 2, 33, 384), levels(rnd, 33), Weights.random(rnd, 384, 1536)),
                new Case(input(rnd, 5, 33, 1536), levels(rnd, 33), Weights.random(rnd, 1536, 384)));
    }

    static List<Case> allCases() {
        List<Case> all = new ArrayList<>(SWEEP);
        all.addAll(MINILM);
        return all;
    }

    private static final Map<Case, Map<String, Out>> ORT = new IdentityHashMap<>();

    /** ORT's run of the integer chain in the given forms on a case (cached: the checks share it). */
    static Out ort(int opset, Forms forms, Case c, boolean weightsAsInitializers) {
        return ORT.computeIfAbsent(c, x -> new HashMap<>()).computeIfAbsent(opset + "/" + forms + "/" + weightsAsInitializers,
                k -> IntegerHarness.run(opset, forms, c.w(), weightsAsInitializers, c.z(), c.levels()));
    }

    /**
     * The Java side of a case, computed once: the kernels' Zq, Qdq output and Y, and in double the simulation
     * {@code sim = Qdq(Z) · (Wq ⊙ s)} [rows, N] and per row {@code bound = max_n Σ_d |ẑ_d·Wq_dn·s_n|}, the size of a
     * float GEMM's rounding on that row.
     */
    record Ref(MixedPrecisionQuantize.Quantized q, FloatTensor qdq, FloatTensor y, double[] sim, double[] bound) {}

    private static final Map<Case, Ref> REFS = new IdentityHashMap<>();

    static Ref ref(Case c) {
        return REFS.computeIfAbsent(c, x -> {
            MixedPrecisionQuantize.Quantized q = MixedPrecisionQuantize.apply(x.z(), x.levels());
            FloatTensor qdq = MixedPrecisionQdq.apply(x.z(), x.levels());
            FloatTensor y = ScaledMatMulInteger.apply(q, x.w().wq(), x.w().wScale(), x.w().n());
            int d = x.d(), n = x.w().n(), rows = x.rows();
            double[] wd = x.w().dequantized(), sim = new double[rows * n], bound = new double[rows], abs = new double[n];
            for (int r = 0; r < rows; r++) {
                Arrays.fill(abs, 0);
                for (int k = 0; k < d; k++) {
                    double a = qdq.data()[r * d + k];
                    if (a == 0) continue;
                    for (int j = 0; j < n; j++) {
                        double p = a * wd[k * n + j];
                        sim[r * n + j] += p;
                        abs[j] += Math.abs(p);
                    }
                }
                for (double v : abs) bound[r] = Math.max(bound[r], v);
            }
            return new Ref(q, qdq, y, sim, bound);
        });
    }

    // ------------------------------------------------------------------ 1. MixedPrecisionQuantize

    @ParameterizedTest(name = "opset {0} {1}")
    @MethodSource("combinations")
    void quantizeMatchesKernelAndDequantizesToQdq(int opset, Forms forms) {
        Worst w = worst(forms);
        signedZeros = 0;
        for (Case c : allCases()) {
            List<Integer> ties = checkQuantize(opset, forms, c, ort(opset, forms, c, false));
            w.zqTotal += c.z().data().length;
            w.ties += ties.size();
            for (int e : ties) {
                float q = c.levels().data()[(e / c.d()) % c.t()];
                if (q == 15) w.ties15++;
                if (q == 3) w.ties3++;
            }
        }
        w.signedZeros += signedZeros;
        signedZeros = 0;
    }

    private static long signedZeros;

    /**
     * ORT's Zq / scale / zero point vs the kernel, and (Zq - zp)·scale vs MixedPrecisionQdq; returns the elements where a
     * QuantizeLinear form wrote q + 1 over the kernel's q (each checked to be the documented tie).
     */
    private static List<Integer> checkQuantize(int opset, Forms forms, Case c, Out ort) {
        String where = "opset " + opset + " " + forms + " " + c;
        int d = c.d(), t = c.t(), rows = c.rows();
        MixedPrecisionQuantize.Quantized k = ref(c).q();
        long[] tokenShape = c.z().shape().clone();
        tokenShape[tokenShape.length - 1] = 1;
        assertArrayEquals(c.z().shape(), ort.zShape(), where + ": Zq shape");
        assertArrayEquals(tokenShape, ort.tokenShape(), where + ": scale shape");
        assertArrayEquals(c.z().shape(), k.shape());

        // scale and zero point: bit-exact (zero point up to the sign of 0), zero point integer-valued in [0, q]
        assertArrayEquals(k.scale(), ort.scale(), where + ": scale");
        assertSameValues(k.zeroPoint(), ort.zeroPoint(), where + ": zero_point");
        for (int r = 0; r < rows; r++) {
            float q = c.levels().data()[r % t], zp = ort.zeroPoint()[r];
            assertTrue(zp >= 0 && zp <= q && zp == Math.rint(zp), where + " row " + r + ": zero point " + zp + " for q " + q);
            assertTrue(ort.scale()[r] > 0, where + " row " + r + ": scale " + ort.scale()[r]);
        }

        List<Integer> ties = zqTies(where, forms, c, ort);

        // (Zq - zp) * scale is MixedPrecisionQdq: kernel vs kernel, and ORT vs ORT (dequantized in ORT and in Java), one
        // step above it exactly at the ties
        assertArrayEquals(ref(c).qdq().data(), dequantize(k.values(), k.scale(), k.zeroPoint(), d), where + ": kernel (Zq - zp)·scale vs Qdq kernel");
        float[] zdqJava = dequantize(ort.zq(), ort.scale(), ort.zeroPoint(), d);
        assertSameValues(zdqJava, ort.zdq(), where + ": ORT (Zq - zp)·scale vs the same in Java");
        float[] qdqOrt = ort.zhat().clone(), qdqKernel = ref(c).qdq().data().clone();
        for (int e : ties) {
            float s = ort.scale()[e / d], zp = ort.zeroPoint()[e / d], q = c.levels().data()[(e / d) % t];
            assertEquals((q - zp) * s, qdqOrt[e], where + " element " + e + ": ORT Qdq at a tie");
            qdqOrt[e] = qdqKernel[e] = (q + 1 - zp) * s;
        }
        assertSameValues(qdqOrt, ort.zdq(), where + ": ORT (Zq - zp)·scale vs ORT Qdq");
        assertSameValues(qdqKernel, ort.zdq(), where + ": ORT (Zq - zp)·scale vs the Qdq kernel");
        return ties;
    }

    /**
     * Zq: bit-exact vs the kernel (in 0..q), but where QuantizeLinear's saturation at 255 lets a tie reach q + 1; returns
     * those elements, each checked to be the documented tie (a QuantizeLinear form, q < 255, ORT q + 1 over the kernel's
     * q, z / scale and -min / scale both exact rounding ties in float32).
     */
    static List<Integer> zqTies(String where, Forms forms, Case c, Out ort) {
        MixedPrecisionQuantize.Quantized k = ref(c).q();
        int d = c.d(), t = c.t(), rows = c.rows();
        float[] z = c.z().data();
        List<Integer> ties = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            int q = (int) c.levels().data()[r % t];
            float s = k.scale()[r], zp = k.zeroPoint()[r], mn = 0f;
            for (int i = 0; i < d; i++) mn = Math.min(mn, z[r * d + i]);
            for (int i = 0; i < d; i++) {
                int e = r * d + i, a = ort.zq()[e], b = k.values()[e];
                assertTrue(b >= 0 && b <= q, where + " element " + e + ": kernel Zq " + b + " outside 0.." + q);
                if (a == b) continue;
                String at = where + " element " + e + " (q " + q + "): ORT Zq " + a + " vs kernel " + b;
                assertNotEquals(MixedPrecisionQuantize.Form.ARITHMETIC, forms.quantize(), at);
                assertTrue(q < 255, at + ": an 8-bit token, where saturating at 255 is the token's own clip");
                assertTrue(a == q + 1 && b == q, at + ": not the q + 1 of QuantizeLinear's saturation at 255");
                float zs = z[e] / s, ms = -mn / s;
                assertTrue(isTie(zs) && isTie(ms) && (float) Math.rint(zs) + zp == q + 1,
                        at + ": z/scale " + zs + " and -min/scale " + ms + " are not both exact rounding ties");
                ties.add(e);
            }
        }
        return ties;
    }

    /** x sits exactly half-way between two integers (x well below 2^23, so x - floor(x) is exact). */
    static boolean isTie(float x) { return x - (float) Math.floor(x) == 0.5f; }

    /**
     * Bit-exact up to the sign of a zero: the bodies produce -0 where the kernels produce +0 (Neg(+0) = -0 feeds the zero
     * point of a row without negatives; Round(-0.3) = -0 in the Qdq body's clip form), which no later Add/Mul/Cast can see.
     */
    static void assertSameValues(float[] expected, float[] actual, String where) {
        assertEquals(expected.length, actual.length, where + ": length");
        for (int i = 0; i < expected.length; i++) {
            float a = expected[i], b = actual[i];
            if (Float.floatToIntBits(a) != Float.floatToIntBits(b)) {
                assertTrue(a == 0f && b == 0f, where + " element " + i + ": " + a + " vs " + b);
                signedZeros++;
            }
        }
    }

    static float[] dequantize(int[] zq, float[] scale, float[] zp, int d) {
        float[] out = new float[zq.length];
        for (int e = 0; e < zq.length; e++) out[e] = ((float) zq[e] - zp[e / d]) * scale[e / d];
        return out;
    }

    @ParameterizedTest(name = "opset {0} {1}")
    @MethodSource("combinations")
    void quantizeSpecialRows(int opset, Forms forms) {
        // 4 tokens x D 4: all zero, constant positive, constant negative, all-negative ramp; q = 255, 15, 3, 255
        FloatTensor z = new FloatTensor(new float[] {0, 0, 0, 0, 2.5f, 2.5f, 2.5f, 2.5f, -3f, -3f, -3f, -3f, -4f, -3f, -2f, -1f}, new long[] {4, 4});
        FloatTensor q = new FloatTensor(new float[] {255, 15, 3, 255}, new long[] {4, 1});
        Weights w = Weights.random(new Random(2), 4, 3);
        Out o = IntegerHarness.run(opset, forms, w, false, z, q);
        String where = "opset " + opset + " " + forms;
        // ramp: -4..-1 / (4/255) = -255, -191.25, -127.5 (-127.49999 in float), -63.75, + zp 255
        assertArrayEquals(new int[] {0, 0, 0, 0, 15, 15, 15, 15, 0, 0, 0, 0, 0, 64, 128, 191}, o.zq(), where);
        assertSameValues(new float[] {0, 0, 3, 255}, o.zeroPoint(), where);
        assertArrayEquals(new float[] {QuantNumerics.EPS / 255, 2.5f / 15, 3f / 3, 4f / 255}, o.scale(), where);
    }

    /**
     * The tie of {@link MixedPrecisionQuantize.Form}, built on purpose (scale 1 in every row): min and max on odd
     * half-integers round away from each other (half to even), so round(max / scale) + zp = q + 1. The arithmetic form
     * clips to q; QuantizeLinear saturates at 255, so a 4-bit (and a 2-bit) token gets q + 1, an 8-bit token 255 = q. The
     * integer GEMM then multiplies ORT's q + 1 (Y = the kernel on ORT's Zq), one step of Wq·w_scale from the simulation.
     */
    @ParameterizedTest(name = "opset {0} {1}")
    @MethodSource("combinations")
    void quantizeLinearTieReachesQPlusOne(int opset, Forms forms) {
        FloatTensor z = new FloatTensor(new float[] {
                -7.5f, 7.5f, 0f, 1f,          // q 15: zp round(7.5) = 8, 7.5 -> 8 + 8 = 16
                -1.5f, 1.5f, 0.5f, -0.5f,     // q 3: zp round(1.5) = 2, 1.5 -> 2 + 2 = 4
                -127.5f, 127.5f, 0f, 0.5f,    // q 255: zp 128, 127.5 -> 128 + 128 = 256, saturated to 255 either way
                -6.5f, 8.5f, 0f, 1f},         // q 15, ties rounding towards each other: zp 6, 8.5 -> 8 + 6 = 14
                new long[] {4, 4});
        FloatTensor q = new FloatTensor(new float[] {15, 3, 255, 15}, new long[] {4, 1});
        Case c = new Case(z, q, Weights.random(new Random(3), 4, 5));
        boolean saturating = forms.quantize() != MixedPrecisionQuantize.Form.ARITHMETIC;
        Out o = ort(opset, forms, c, false);
        String where = "opset " + opset + " " + forms;
        assertArrayEquals(new int[] {0, 15, 8, 9, 0, 3, 2, 2, 0, 255, 128, 128, 0, 14, 6, 7}, ref(c).q().values(), "kernel");
        assertArrayEquals(new int[] {0, saturating ? 16 : 15, 8, 9, 0, saturating ? 4 : 3, 2, 2, 0, 255, 128, 128, 0, 14, 6, 7}, o.zq(), where);
        assertArrayEquals(new float[] {1, 1, 1, 1}, o.scale(), where);
        assertSameValues(new float[] {8, 2, 128, 6}, o.zeroPoint(), where);
        assertEquals(saturating ? List.of(1, 5) : List.of(), checkQuantize(opset, forms, c, o), where + ": the ties found");
        checkMatMulInteger(opset, forms, c, o, "inputs");
        // Y - Ysim: one step of Wq[1, :]·w_scale in the two saturated rows, float rounding elsewhere
        int n = c.w().n();
        for (int r = 0; r < 4; r++) {
            for (int j = 0; j < n; j++) {
                double step = saturating && r < 2 ? (double) c.w().wq()[n + j] * c.w().wScale()[j] : 0;
                double diff = (double) o.y()[r * n + j] - o.ysim()[r * n + j];
                assertEquals(step, diff, 1e-5 * ref(c).bound()[r], where + " row " + r + " column " + j);
            }
        }
    }

    // ------------------------------------------------------------------ 2. ScaledMatMulInteger

    @ParameterizedTest(name = "opset {0} {1}")
    @MethodSource("combinations")
    void scaledMatMulIntegerMatchesKernel(int opset, Forms forms) {
        for (Case c : allCases()) checkMatMulInteger(opset, forms, c, ort(opset, forms, c, false), "inputs");
        for (Case c : MINILM) checkMatMulInteger(opset, forms, c, ort(opset, forms, c, true), "initializers");
    }

    /**
     * The kernel on ORT's own Zq / scale / zero point, so both sides multiply the same integers. STANDARD: 1e-6 relative
     * per element. ONNXRUNTIME subtracts zp·scale·colsum·w_scale from acc·w_scale·scale in float: per element |ΔY| <=
     * 1e-6·(|acc| + |zp·colsum|)·scale·w_scale, the size of the two terms.
     */
    private static void checkMatMulInteger(int opset, Forms forms, Case c, Out ort, String weights) {
        String where = "opset " + opset + " " + forms + " " + c + " (" + weights + ")";
        Ref ref = ref(c);
        Worst w = worst(forms);
        boolean sameInputs = Arrays.equals(ref.q().values(), ort.zq()) && Arrays.equals(ref.q().scale(), ort.scale())
                && sameNumbers(ref.q().zeroPoint(), ort.zeroPoint());
        FloatTensor k = sameInputs ? ref.y() : ScaledMatMulInteger.apply(ort.quantized(), c.w().wq(), c.w().wScale(), c.w().n());
        assertArrayEquals(k.shape(), ort.yShape(), where + ": Y shape");
        boolean fused = forms.matmul() == ScaledMatMulInteger.Form.ONNXRUNTIME;
        int n = c.w().n();
        int[] acc = fused ? accumulators(ort.zq(), c.w(), c.rows()) : null;
        double maxY = 0, maxD = 0;
        for (int e = 0; e < k.data().length; e++) {
            float a = ort.y()[e], b = k.data()[e];
            double diff = Math.abs((double) a - b);
            maxY = Math.max(maxY, Math.abs(b));
            maxD = Math.max(maxD, diff);
            if (b != 0) w.mmiRel = Math.max(w.mmiRel, diff / Math.abs((double) b));
            if (!fused) {
                double rel = a == b ? 0 : diff / Math.abs((double) b);
                assertTrue(rel <= 1e-6, where + " element " + e + ": ORT " + a + " vs kernel " + b);
            } else {
                int r = e / n, j = e % n;
                double terms = ((double) Math.abs(acc[e]) + Math.abs((double) ort.zeroPoint()[r] * c.w().colsum()[j]))
                        * ort.scale()[r] * c.w().wScale()[j];
                if (terms == 0) assertEquals(0.0, diff, where + " element " + e + ": all terms zero");
                else {
                    w.mmiTermRel = Math.max(w.mmiTermRel, diff / terms);
                    assertTrue(diff <= 1e-6 * terms, where + " element " + e + ": ORT " + a + " vs kernel " + b + ", |dY| " + diff
                            + " > 1e-6 x (|acc| + |zp·colsum|)·scale·w_scale " + terms + " (acc " + acc[e] + ")");
                }
            }
        }
        if (maxY > 0) w.mmiCaseRel = Math.max(w.mmiCaseRel, maxD / maxY);
    }

    /** Σ_d Zq[r, d]·Wq[d, n] in int32, row-major [rows, N]. */
    static int[] accumulators(int[] zq, Weights w, int rows) {
        int d = w.d(), n = w.n();
        int[] acc = new int[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < d; k++) {
                int a = zq[r * d + k];
                if (a == 0) continue;
                for (int j = 0; j < n; j++) acc[r * n + j] += a * w.wq()[k * n + j];
            }
        }
        return acc;
    }

    private static boolean sameNumbers(float[] a, float[] b) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
        return true;
    }

    @ParameterizedTest(name = "opset {0} {1}")
    @MethodSource("combinations")
    void noInt16SaturationAtExtremeProducts(int opset, Forms forms) {
        // uint8 255 against int8 +-127 / -128 in every position: the int16 pair sums 2·255·127 = 64770 of a
        // vpmaddubsw-style u8s8 kernel would saturate (x86 AVX2 without VNNI); int32 accumulation must not.
        int d = 64, n = 4;
        byte[] wq = new byte[d * n];
        for (int k = 0; k < d; k++) {
            wq[k * n] = 127;
            wq[k * n + 1] = -127;
            wq[k * n + 2] = -128;
            wq[k * n + 3] = (byte) (k % 2 == 0 ? 127 : -128);
        }
        Weights w = Weights.of(wq, new float[] {1f, 0.5f, 0.25f, 2f}, d, n);
        float[] z = new float[3 * d];
        for (int i = 0; i < d; i++) {
            z[i] = 1f;                        // Zq = 255, zp = 0
            z[d + i] = -1f;                   // Zq = 0, zp = 255: the correction term alone
            z[2 * d + i] = i % 2 == 0 ? 1f : 0f; // 255 / 0 alternating
        }
        Case c = new Case(new FloatTensor(z, new long[] {3, d}), new FloatTensor(new float[] {255, 255, 255}, new long[] {3, 1}), w);
        long[] acc0 = {255L * 127 * d, -255L * 127 * d, -255L * 128 * d, 255L * (127 - 128) * d / 2};
        for (boolean init : new boolean[] {false, true}) {
            Out o = ort(opset, forms, c, init);
            String where = "opset " + opset + " " + forms + (init ? " initializers" : " inputs");
            assertSameValues(new float[] {0, 255, 0}, o.zeroPoint(), where);
            for (int j = 0; j < n; j++) {
                float s = o.scale()[0];
                float expected = ((float) acc0[j] * s) * w.wScale()[j];
                assertEquals(expected, o.y()[j], Math.abs(expected) * 1e-6, where + " all-255 row, column " + j);
                assertEquals(-expected * o.scale()[1] / s, o.y()[n + j], Math.abs(expected) * 1e-5, where + " all-0 row, column " + j);
            }
            checkMatMulInteger(opset, forms, c, o, init ? "initializers" : "inputs");
            checkChain(where, forms, c, o);
        }
    }

    // ------------------------------------------------------------------ the integer form = the simulation form

    @ParameterizedTest(name = "opset {0} {1}")
    @MethodSource("combinations")
    void integerChainEqualsSimulation(int opset, Forms forms) {
        for (Case c : allCases()) checkChain("opset " + opset + " " + forms + " " + c + " inputs", forms, c, ort(opset, forms, c, false));
        for (Case c : MINILM) checkChain("opset " + opset + " " + forms + " " + c + " initializers", forms, c, ort(opset, forms, c, true));
    }

    /**
     * ORT's Y (integer chain) vs ORT's Ysim (float MatMul of the Qdq output by the dequantized weight). Where a
     * QuantizeLinear form wrote q + 1 at a tie ({@link #zqTies}), the integer GEMM multiplies one step more than the
     * simulation: that step, scale·Wq[d, :]·w_scale, is added to Ysim (in double) before the same tolerances, and the
     * raw difference of those rows is recorded for the report.
     */
    private static void checkChain(String where, Forms forms, Case c, Out o) {
        int n = c.w().n(), d = c.d(), rows = c.rows();
        double[] bound = ref(c).bound();
        Worst w = worst(forms);
        double[] step = new double[rows * n];
        boolean[] tieRow = new boolean[rows];
        for (int e : zqTies(where, forms, c, o)) {
            int r = e / d, k = e % d;
            tieRow[r] = true;
            for (int j = 0; j < n; j++) step[r * n + j] += (double) o.scale()[r] * c.w().wq()[k * n + j] * c.w().wScale()[j];
        }
        double maxY = 0, maxD = 0;
        for (int r = 0; r < rows; r++) {
            double rowY = 0, rowD = 0, rawD = 0;
            for (int j = 0; j < n; j++) {
                int e = r * n + j;
                assertTrue(Float.isFinite(o.y()[e]) && Float.isFinite(o.ysim()[e]), where + " element " + e + ": " + o.y()[e] + " / " + o.ysim()[e]);
                rowY = Math.max(rowY, Math.abs(o.y()[e]));
                rowD = Math.max(rowD, Math.abs((double) o.y()[e] - (o.ysim()[e] + step[e])));
                rawD = Math.max(rawD, Math.abs((double) o.y()[e] - o.ysim()[e]));
            }
            if (tieRow[r]) {
                w.tieRows++;
                if (rowY > 0) w.tieRowRawRel = Math.max(w.tieRowRawRel, rawD / rowY);
                if (bound[r] > 0) w.tieRowRawBound = Math.max(w.tieRowRawBound, rawD / bound[r]);
            }
            if (bound[r] == 0) assertEquals(0.0, rowD, where + " row " + r + ": all terms zero but Y differs");
            else {
                if (rowD / bound[r] > w.chainBound) {
                    w.chainBound = rowD / bound[r];
                    w.chainBoundWhere = where + " row " + r;
                }
                assertTrue(rowD <= 1e-5 * bound[r], where + " row " + r + ": |dY| " + rowD + " > 1e-5 x sum|terms| " + bound[r]
                        + (tieRow[r] ? " (after the q + 1 steps; raw |dY| " + rawD + ")" : ""));
            }
            if (rowY > 0) w.chainRowRel = Math.max(w.chainRowRel, rowD / rowY);
            maxY = Math.max(maxY, rowY);
            maxD = Math.max(maxD, rowD);
        }
        if (maxY == 0) assertEquals(0.0, maxD, where);
        else {
            double rel = maxD / maxY;
            if (MINILM.stream().anyMatch(m -> m == c)) w.chainMiniLm = Math.max(w.chainMiniLm, rel);
            else w.chainSweep = Math.max(w.chainSweep, rel);
            assertTrue(maxD <= 1e-5 * maxY, where + ": max|dY| " + maxD + " > 1e-5 x max|Y| " + maxY);
        }
    }

    /** The kernels alone: ScaledMatMulInteger(MixedPrecisionQuantize(Z)) vs MixedPrecisionQdq(Z) · W in double, a few float ulps. */
    @Test
    void kernelChainEqualsSimulation() {
        for (Case c : allCases()) {
            Ref ref = ref(c);
            int n = c.w().n();
            for (int e = 0; e < ref.sim().length; e++) {
                double diff = Math.abs(ref.y().data()[e] - ref.sim()[e]), b = ref.bound()[e / n];
                if (b == 0) assertEquals(0.0, diff, c + " element " + e);
                else {
                    maxKernelChainBound = Math.max(maxKernelChainBound, diff / b);
                    assertTrue(diff <= 1e-6 * b, c + " element " + e + ": kernel chain " + ref.y().data()[e] + " vs simulation " + ref.sim()[e]);
                }
            }
        }
    }

    // ------------------------------------------------------------------ 3. bodies, loading, column sums

    /** Standard op -> the default-domain opset that introduced it (QuantizeLinear: 10, per axis from 13). */
    static final Map<String, Integer> SINCE = Map.ofEntries(
            Map.entry("Constant", 1), Map.entry("ReduceMin", 1), Map.entry("ReduceMax", 1), Map.entry("Min", 1),
            Map.entry("Max", 1), Map.entry("Sub", 1), Map.entry("Div", 1), Map.entry("Neg", 1), Map.entry("Add", 1),
            Map.entry("Mul", 1), Map.entry("Round", 11), Map.entry("Cast", 1), Map.entry("Identity", 1),
            Map.entry("MatMulInteger", 10), Map.entry("Shape", 1), Map.entry("Reshape", 5), Map.entry("Concat", 4),
            Map.entry("Slice", 10), Map.entry("Gemm", 7), Map.entry("QuantizeLinear", 13));

    /** The com.microsoft ops each ONNXRUNTIME body may use. */
    static final Set<String> ONNXRUNTIME_OPS = Set.of("QuantizeLinear", "MatMulIntegerToFloat");

    /** (opset, function name, op, form) for every body valid at each opset. */
    static Stream<Arguments> bodies() {
        List<Arguments> all = new ArrayList<>();
        for (int opset : OPSETS) {
            for (MixedPrecisionQuantize.Form f : MixedPrecisionQuantize.Form.values()) {
                if (Forms.valid(f, opset)) all.add(Arguments.of(opset, MixedPrecisionQuantize.of(f).functionName(), MixedPrecisionQuantize.of(f), f));
            }
            for (ScaledMatMulInteger.Form f : ScaledMatMulInteger.Form.values()) {
                all.add(Arguments.of(opset, ScaledMatMulInteger.of(f).functionName(), ScaledMatMulInteger.of(f), f));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{1} at opset {0}")
    @MethodSource("bodies")
    void bodiesUseOnlyStandardOpsOfTheirOpsetOrComMicrosoft(int opset, String name, StampOp op, Enum<?> form) {
        boolean contrib = form == MixedPrecisionQuantize.Form.ONNXRUNTIME || form == ScaledMatMulInteger.Form.ONNXRUNTIME;
        OnnxMl.FunctionProto f = op.function(opset);
        String where = name + "@" + opset;
        assertEquals(StampDomain.NAME, f.getDomain(), where);
        assertEquals(name, f.getName(), where);
        assertEquals(op.inputs(), f.getInputList(), where);
        assertEquals(op.outputs(), f.getOutputList(), where);
        // the default domain at the model's opset, and com.microsoft (version 1) exactly for the ONNXRUNTIME forms
        Map<String, Long> imports = new LinkedHashMap<>();
        for (OnnxMl.OperatorSetIdProto o : f.getOpsetImportList()) assertEquals(null, imports.put(o.getDomain(), o.getVersion()), where + ": imported twice");
        Map<String, Long> expected = new LinkedHashMap<>();
        expected.put("", (long) opset);
        if (contrib) expected.put(OnnxDialect.ONNXRUNTIME_DOMAIN, 1L);
        assertEquals(expected, imports, where + ": opset imports");

        List<String> defined = new ArrayList<>(f.getInputList());
        Map<String, Integer> standard = new HashMap<>(), microsoft = new HashMap<>();
        Map<String, OnnxMl.NodeProto> writer = new HashMap<>();
        for (OnnxMl.NodeProto node : f.getNodeList()) {
            String at = where + " " + node.getName();
            if (node.getDomain().isEmpty()) {
                Integer since = SINCE.get(node.getOpType());
                assertTrue(since != null && since <= opset, where + ": " + node.getOpType() + " is not a standard op at this opset");
                standard.merge(node.getOpType(), 1, Integer::sum);
            } else {
                assertEquals(OnnxDialect.ONNXRUNTIME_DOMAIN, node.getDomain(), at);
                assertTrue(contrib && ONNXRUNTIME_OPS.contains(node.getOpType()), at + ": com.microsoft " + node.getOpType() + " in the " + form + " form");
                microsoft.merge(node.getOpType(), 1, Integer::sum);
            }
            for (String in : node.getInputList()) assertTrue(in.isEmpty() || defined.contains(in), at + " reads undefined " + in);
            defined.addAll(node.getOutputList());
            for (String out : node.getOutputList()) writer.put(out, node);
            switch (node.getOpType()) {
                case "ReduceMin", "ReduceMax" -> {
                    boolean attr = node.getAttributeList().stream().anyMatch(a -> a.getName().equals("axes"));
                    assertEquals(opset < 18, attr, at + ": axes attribute");
                    assertEquals(opset < 18 ? 1 : 2, node.getInputCount(), at);
                }
                case "MatMulInteger" -> assertEquals(2, node.getInputCount(), at + ": no zero-point inputs");
                case "Cast" -> {
                    assertEquals(1, node.getAttributeCount(), at);
                    assertEquals("to", node.getAttribute(0).getName(), at);
                }
                case "QuantizeLinear" -> {
                    // per axis over the [rows, D] view: axis 0, a scale and a uint8 zero point per row
                    assertEquals(3, node.getInputCount(), at);
                    assertEquals(1, node.getAttributeCount(), at);
                    assertEquals("axis", node.getAttribute(0).getName(), at);
                    assertEquals(0, node.getAttribute(0).getI(), at);
                }
                default -> { }
            }
        }
        assertTrue(defined.containsAll(op.outputs()), where + ": outputs not all written");
        long toUint8 = f.getNodeList().stream().filter(x -> x.getOpType().equals("Cast"))
                .filter(x -> x.getAttribute(0).getI() == DataType.UINT8_VALUE).count();
        assertTrue(!standard.containsKey("DequantizeLinear") && !standard.containsKey("MatMul"), where);
        if (form instanceof MixedPrecisionQuantize.Form qf) {
            assertEquals(1, standard.get("ReduceMin"), where);
            assertEquals(1, standard.get("ReduceMax"), where);
            switch (qf) {
                case ARITHMETIC -> {
                    assertTrue(!standard.containsKey("QuantizeLinear") && microsoft.isEmpty(), where);
                    assertEquals(1, toUint8, where + ": one Cast to uint8, of Zq");
                }
                case QUANTIZE_LINEAR, ONNXRUNTIME -> {
                    // Z goes through one QuantizeLinear (default domain or com.microsoft), reshaped back to Zq; the only
                    // Round and the only Cast to uint8 are the zero point's
                    boolean standardQl = qf == MixedPrecisionQuantize.Form.QUANTIZE_LINEAR;
                    assertEquals(standardQl ? 1 : null, standard.get("QuantizeLinear"), where + ": default-domain QuantizeLinear");
                    assertEquals(standardQl ? Map.of() : Map.of("QuantizeLinear", 1), microsoft, where + ": com.microsoft ops");
                    assertEquals(1, standard.get("Round"), where + ": Round of the zero point only");
                    assertEquals(1, toUint8, where + ": one Cast to uint8, of the zero point");
                    OnnxMl.NodeProto zq = writer.get("Zq");
                    assertEquals("Reshape", zq.getOpType(), where);
                    assertEquals("QuantizeLinear", writer.get(zq.getInput(0)).getOpType(), where + ": Zq is the QuantizeLinear output");
                }
            }
        } else {
            if (form == ScaledMatMulInteger.Form.STANDARD) {
                // one integer GEMM, straight on the formal uint8 / int8 inputs (not on dequantized floats)
                assertEquals(1, standard.get("MatMulInteger"), where);
                OnnxMl.NodeProto mmi = f.getNodeList().stream().filter(x -> x.getOpType().equals("MatMulInteger")).findFirst().orElseThrow();
                assertEquals(List.of("Zq", "Wq"), mmi.getInputList(), where);
                assertTrue(microsoft.isEmpty(), where);
            } else {
                // com.microsoft MatMulIntegerToFloat on the formal inputs (activation scale 1, the channel scales, no zero
                // points), then one Gemm for the correction; no MatMulInteger
                assertEquals(Map.of("MatMulIntegerToFloat", 1), microsoft, where);
                assertTrue(!standard.containsKey("MatMulInteger"), where);
                assertEquals(1, standard.get("Gemm"), where);
                OnnxMl.NodeProto mm = f.getNodeList().stream().filter(x -> x.getOpType().equals("MatMulIntegerToFloat")).findFirst().orElseThrow();
                assertEquals(4, mm.getInputCount(), where + ": no zero points, no bias");
                assertEquals(List.of("Zq", "Wq"), mm.getInputList().subList(0, 2), where);
                assertEquals("w_scale", mm.getInput(3), where);
            }
            assertEquals(0, toUint8, where);
        }
    }

    @Test
    void quantizeLinearFormNeedsOpset13() {
        MixedPrecisionQuantize ql = MixedPrecisionQuantize.of(MixedPrecisionQuantize.Form.QUANTIZE_LINEAR);
        for (int opset : new int[] {10, 11, 12}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ql.function(opset), "opset " + opset);
            assertTrue(e.getMessage().contains("QuantizeLinear") && e.getMessage().contains("opset 13") && e.getMessage().contains("got " + opset),
                    "opset " + opset + ": " + e.getMessage());
        }
        for (int opset = 13; opset <= 21; opset++) assertEquals(ql.functionName(), ql.function(opset).getName());
        // the other forms are valid from the bodies' minimum opset on, and not below
        for (MixedPrecisionQuantize.Form f : List.of(MixedPrecisionQuantize.Form.ARITHMETIC, MixedPrecisionQuantize.Form.ONNXRUNTIME)) {
            for (int opset : new int[] {11, 12}) assertEquals(MixedPrecisionQuantize.of(f).functionName(), MixedPrecisionQuantize.of(f).function(opset).getName());
            assertThrows(IllegalArgumentException.class, () -> MixedPrecisionQuantize.of(f).function(10), f.name());
        }
        for (ScaledMatMulInteger.Form f : ScaledMatMulInteger.Form.values()) {
            assertThrows(IllegalArgumentException.class, () -> ScaledMatMulInteger.of(f).function(10), f.name());
        }
        assertEquals(List.of(false, true, true, true), Arrays.stream(OPSETS).mapToObj(o -> Forms.valid(MixedPrecisionQuantize.Form.QUANTIZE_LINEAR, o)).toList());
    }

    @Test
    void formsHaveDistinctFunctionNames() {
        // one model may hold several forms of an op (a function per name), so the names must differ
        Set<String> names = new java.util.HashSet<>();
        for (MixedPrecisionQuantize.Form f : MixedPrecisionQuantize.Form.values()) assertTrue(names.add(MixedPrecisionQuantize.of(f).functionName()), f.name());
        for (ScaledMatMulInteger.Form f : ScaledMatMulInteger.Form.values()) assertTrue(names.add(ScaledMatMulInteger.of(f).functionName()), f.name());
        assertEquals(MixedPrecisionQuantize.OP, MixedPrecisionQuantize.INSTANCE.functionName());
        assertEquals(ScaledMatMulInteger.OP, ScaledMatMulInteger.INSTANCE.functionName());
    }

    /** The test model imports every domain its functions import, com.microsoft exactly when a form is ONNXRUNTIME. */
    @ParameterizedTest(name = "opset {0} {1}")
    @MethodSource("combinations")
    void chainModelImportsTheDomainsOfItsFunctions(int opset, Forms forms) {
        boolean contrib = forms.quantize() == MixedPrecisionQuantize.Form.ONNXRUNTIME || forms.matmul() == ScaledMatMulInteger.Form.ONNXRUNTIME;
        for (Weights init : new Weights[] {null, Weights.random(new Random(4), 8, 3)}) {
            OnnxMl.ModelProto m = IntegerHarness.chainModel(opset, forms, init);
            Map<String, Long> imports = new HashMap<>();
            for (OnnxMl.OperatorSetIdProto o : m.getOpsetImportList()) assertEquals(null, imports.put(o.getDomain(), o.getVersion()), "imported twice");
            Map<String, Long> expected = new HashMap<>(Map.of("", (long) opset, StampDomain.NAME, (long) StampDomain.VERSION));
            if (contrib) expected.put(OnnxDialect.ONNXRUNTIME_DOMAIN, 1L);
            assertEquals(expected, imports, "opset " + opset + " " + forms);
            for (OnnxMl.FunctionProto f : m.getFunctionsList()) {
                for (OnnxMl.OperatorSetIdProto o : f.getOpsetImportList()) {
                    assertEquals(o.getVersion(), imports.get(o.getDomain()), f.getName() + " imports " + o.getDomain() + " the model does not");
                }
            }
        }
    }

    @ParameterizedTest(name = "opset {0} {1}")
    @MethodSource("combinations")
    void ortLoadsTheBodiesAtEveryOptimizationLevel(int opset, Forms forms) {
        Case c = SWEEP.get(35); // rank 4, T 33, D 64
        assertArrayEquals(new long[] {2, 3, 33, 64}, c.z().shape());
        Out all = ort(opset, forms, c, false);
        for (OptLevel level : new OptLevel[] {OptLevel.NO_OPT, OptLevel.BASIC_OPT}) {
            Out o = IntegerHarness.run(opset, forms, level, c.w(), false, c.z(), c.levels());
            String where = "opset " + opset + " " + forms + " " + level;
            assertArrayEquals(all.zq(), o.zq(), where);
            assertArrayEquals(all.scale(), o.scale(), where);
            assertArrayEquals(all.zeroPoint(), o.zeroPoint(), where);
            assertArrayEquals(all.y(), o.y(), where);
            assertArrayEquals(all.zhat(), o.zhat(), where);
        }
    }

    @Test
    void columnSumsMatchDirectSum() {
        assertArrayEquals(new int[] {4, -2}, ScaledMatMulInteger.columnSums(new byte[] {1, 2, 3, -4}, 2, 2));
        Random rnd = new Random(5);
        for (int[] dn : new int[][] {{1, 1}, {8, 5}, {384, 1536}, {1536, 384}}) {
            Weights w = Weights.random(rnd, dn[0], dn[1]);
            assertArrayEquals(w.colsum(), ScaledMatMulInteger.columnSums(w.wq(), dn[0], dn[1]), Arrays.toString(dn));
        }
        // extremes: every entry -128 or 127 (int32 range, no byte overflow)
        byte[] lo = new byte[1536 * 3], hi = new byte[1536 * 3];
        Arrays.fill(lo, (byte) -128);
        Arrays.fill(hi, (byte) 127);
        assertArrayEquals(new int[] {-128 * 1536, -128 * 1536, -128 * 1536}, ScaledMatMulInteger.columnSums(lo, 1536, 3));
        assertArrayEquals(new int[] {127 * 1536, 127 * 1536, 127 * 1536}, ScaledMatMulInteger.columnSums(hi, 1536, 3));
    }
}
