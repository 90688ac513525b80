package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import ai.stamp.ops.IntegerHarness.Out;
import ai.stamp.ops.IntegerHarness.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * MixedPrecisionQuantize and ScaledMatMulInteger (STAMP.md sections 4 and 5a): ORT (the function bodies, inlined) vs the
 * Java kernels, and the integer chain vs the simulation form {@code MixedPrecisionQdq(Z) · (Wq ⊙ w_scale)}.
 *
 * <p>Tolerances. Zq: the rule of {@link MixedPrecisionQdqTest} — at least 99.9 % of the elements bit-exact, the rest
 * (rounding ties) at most one step off; scale bit-exact, zero_point bit-exact up to the sign of zero. (Zq - zp)·scale vs
 * MixedPrecisionQdq: bit-exact kernel vs kernel, and ORT vs ORT up to the sign of zero ({@link #assertSameValues}: the
 * bodies write -0 where the kernels write +0, which is invisible to every later Add, Mul and Cast). ScaledMatMulInteger ORT vs kernel on the same integer inputs: 1e-6 relative per
 * element (only the int32 -> float cast and the two scale products round). Integer chain vs float simulation: max |ΔY| /
 * max |Y| <= 1e-5 per case (the issue's "integer form = simulation form to float rounding"), and per token row
 * |ΔY| <= 1e-5 · max_n Σ_d |ẑ_d|·|Wq_dn·s_n| so the huge-magnitude rows cannot hide an error in the ordinary ones.
 */
class IntegerOpsTest {
    static final int[] OPSETS = {11, 13, 18, 21};
    static final float[] LEVELS = {255f, 15f, 3f};
    static final int[] TS = {1, 2, 7, 33};
    static final int[] DS = {1, 8, 64};
    static final int[] NS = {1, 5, 16};

    // measured maxima, printed after the class (for the report; the assertions are below)
    private static double maxMmiRel, maxChainRel, maxChainRowRel, maxChainBound, maxKernelChainBound;
    private static long zqOff, zqTotal, signedZeros;

    @AfterAll
    static void report() {
        System.out.printf("IntegerOpsTest: Zq off-by-one %d of %d (+0/-0 differences %d); ScaledMatMulInteger ORT vs kernel max rel %.3g; "
                        + "chain vs simulation max|dY|/max|Y| %.3g (per row %.3g, per row vs sum|terms| %.3g; kernels %.3g)%n",
                zqOff, zqTotal, signedZeros, maxMmiRel, maxChainRel, maxChainRowRel, maxChainBound, maxKernelChainBound);
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

    private static final Map<String, Out> ORT = new HashMap<>();

    /** ORT's run of the integer chain on a case (cached: the checks share it). */
    static Out ort(int opset, Case c, boolean weightsAsInitializers) {
        return ORT.computeIfAbsent(opset + "/" + weightsAsInitializers + "/" + System.identityHashCode(c),
                k -> IntegerHarness.run(opset, c.w(), weightsAsInitializers, c.z(), c.levels()));
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

    @Test
    void quantizeMatchesKernelAndDequantizesToQdq() {
        for (int opset : OPSETS) for (Case c : allCases()) checkQuantize(opset, c, ort(opset, c, false));
    }

    private static void checkQuantize(int opset, Case c, Out ort) {
        String where = "opset " + opset + " " + c;
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

        // Zq: within 0..q per token, >= 99.9 % bit-exact vs the kernel, the rest one step off
        int n = c.z().data().length, off = 0;
        for (int r = 0; r < rows; r++) {
            int q = (int) c.levels().data()[r % t];
            for (int i = 0; i < d; i++) {
                int e = r * d + i, a = ort.zq()[e], b = k.values()[e];
                assertTrue(a >= 0 && a <= q, where + " element " + e + ": ORT Zq " + a + " outside 0.." + q);
                assertTrue(b >= 0 && b <= q, where + " element " + e + ": kernel Zq " + b + " outside 0.." + q);
                if (a != b) {
                    off++;
                    assertEquals(1, Math.abs(a - b), where + " element " + e + ": Zq " + a + " vs kernel " + b);
                }
            }
        }
        assertTrue(off <= Math.max(1, n / 1000), where + ": " + off + " of " + n + " Zq off by a step");
        zqOff += off;
        zqTotal += n;

        // (Zq - zp) * scale is MixedPrecisionQdq: kernel vs kernel, and ORT vs ORT (dequantized in ORT and in Java)
        assertArrayEquals(ref(c).qdq().data(), dequantize(k.values(), k.scale(), k.zeroPoint(), d), where + ": kernel (Zq - zp)·scale vs Qdq kernel");
        assertSameValues(ort.zhat(), ort.zdq(), where + ": ORT (Zq - zp)·scale vs ORT Qdq");
        assertSameValues(ort.zhat(), dequantize(ort.zq(), ort.scale(), ort.zeroPoint(), d), where + ": ORT Zq dequantized in Java vs ORT Qdq");
    }

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

    @Test
    void quantizeSpecialRows() {
        // 4 tokens x D 4: all zero, constant positive, constant negative, all-negative ramp; q = 255, 15, 3, 255
        FloatTensor z = new FloatTensor(new float[] {0, 0, 0, 0, 2.5f, 2.5f, 2.5f, 2.5f, -3f, -3f, -3f, -3f, -4f, -3f, -2f, -1f}, new long[] {4, 4});
        FloatTensor q = new FloatTensor(new float[] {255, 15, 3, 255}, new long[] {4, 1});
        Weights w = Weights.random(new Random(2), 4, 3);
        for (int opset : OPSETS) {
            Out o = IntegerHarness.run(opset, w, false, z, q);
            // ramp: -4..-1 / (4/255) = -255, -191.25, -127.5 (-127.49999 in float), -63.75, + zp 255
            assertArrayEquals(new int[] {0, 0, 0, 0, 15, 15, 15, 15, 0, 0, 0, 0, 0, 64, 128, 191}, o.zq(), "opset " + opset);
            assertSameValues(new float[] {0, 0, 3, 255}, o.zeroPoint(), "opset " + opset);
            assertArrayEquals(new float[] {QuantNumerics.EPS / 255, 2.5f / 15, 3f / 3, 4f / 255}, o.scale(), "opset " + opset);
        }
    }

    // ------------------------------------------------------------------ 2. ScaledMatMulInteger

    @Test
    void scaledMatMulIntegerMatchesKernel() {
        for (int opset : OPSETS) {
            for (Case c : allCases()) checkMatMulInteger(opset, c, ort(opset, c, false), "inputs");
            for (Case c : MINILM) checkMatMulInteger(opset, c, ort(opset, c, true), "initializers");
        }
    }

    /** The kernel on ORT's own Zq / scale / zero point, so both sides multiply the same integers. */
    private static void checkMatMulInteger(int opset, Case c, Out ort, String weights) {
        String where = "opset " + opset + " " + c + " (" + weights + ")";
        Ref ref = ref(c);
        boolean sameInputs = Arrays.equals(ref.q().values(), ort.zq()) && Arrays.equals(ref.q().scale(), ort.scale())
                && sameNumbers(ref.q().zeroPoint(), ort.zeroPoint());
        FloatTensor k = sameInputs ? ref.y() : ScaledMatMulInteger.apply(ort.quantized(), c.w().wq(), c.w().wScale(), c.w().n());
        assertArrayEquals(k.shape(), ort.yShape(), where + ": Y shape");
        for (int e = 0; e < k.data().length; e++) {
            float a = ort.y()[e], b = k.data()[e];
            double rel = a == b ? 0 : Math.abs(a - b) / Math.abs((double) b);
            maxMmiRel = Math.max(maxMmiRel, rel);
            assertTrue(rel <= 1e-6, where + " element " + e + ": ORT " + a + " vs kernel " + b);
        }
    }

    private static boolean sameNumbers(float[] a, float[] b) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
        return true;
    }

    @Test
    void noInt16SaturationAtExtremeProducts() {
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
        for (int opset : OPSETS) {
            for (boolean init : new boolean[] {false, true}) {
                Out o = ort(opset, c, init);
                String where = "opset " + opset + (init ? " initializers" : " inputs");
                assertSameValues(new float[] {0, 255, 0}, o.zeroPoint(), where);
                for (int j = 0; j < n; j++) {
                    float s = o.scale()[0];
                    float expected = ((float) acc0[j] * s) * w.wScale()[j];
                    assertEquals(expected, o.y()[j], Math.abs(expected) * 1e-6, where + " all-255 row, column " + j);
                    assertEquals(-expected * o.scale()[1] / s, o.y()[n + j], Math.abs(expected) * 1e-5, where + " all-0 row, column " + j);
                }
                checkMatMulInteger(opset, c, o, init ? "initializers" : "inputs");
                checkChain(where, c, o);
            }
        }
    }

    // ------------------------------------------------------------------ the integer form = the simulation form

    @Test
    void integerChainEqualsSimulation() {
        for (int opset : OPSETS) {
            for (Case c : allCases()) checkChain("opset " + opset + " " + c + " inputs", c, ort(opset, c, false));
            for (Case c : MINILM) checkChain("opset " + opset + " " + c + " initializers", c, ort(opset, c, true));
        }
        // and the kernels alone: ScaledMatMulInteger(MixedPrecisionQuantize(Z)) vs MixedPrecisionQdq(Z) · W in double
        for (Case c : allCases()) checkKernelChain(c);
    }

    /** ORT's Y (integer chain) vs ORT's Ysim (float MatMul of the Qdq output by the dequantized weight). */
    private static void checkChain(String where, Case c, Out o) {
        int n = c.w().n(), rows = c.rows();
        double[] bound = ref(c).bound();
        double maxY = 0, maxD = 0;
        for (int r = 0; r < rows; r++) {
            double rowY = 0, rowD = 0;
            for (int j = 0; j < n; j++) {
                int e = r * n + j;
                assertTrue(Float.isFinite(o.y()[e]) && Float.isFinite(o.ysim()[e]), where + " element " + e + ": " + o.y()[e] + " / " + o.ysim()[e]);
                rowY = Math.max(rowY, Math.abs(o.y()[e]));
                rowD = Math.max(rowD, Math.abs((double) o.y()[e] - o.ysim()[e]));
            }
            if (bound[r] == 0) assertEquals(0.0, rowD, where + " row " + r + ": all terms zero but Y differs");
            else {
                maxChainBound = Math.max(maxChainBound, rowD / bound[r]);
                assertTrue(rowD <= 1e-5 * bound[r], where + " row " + r + ": |dY| " + rowD + " > 1e-5 x sum|terms| " + bound[r]);
            }
            if (rowY > 0) maxChainRowRel = Math.max(maxChainRowRel, rowD / rowY);
            maxY = Math.max(maxY, rowY);
            maxD = Math.max(maxD, rowD);
        }
        if (maxY == 0) assertEquals(0.0, maxD, where);
        else {
            maxChainRel = Math.max(maxChainRel, maxD / maxY);
            assertTrue(maxD <= 1e-5 * maxY, where + ": max|dY| " + maxD + " > 1e-5 x max|Y| " + maxY);
        }
    }

    /** The kernel chain (exact integers, float scales) vs the double-precision simulation: a few float ulps. */
    private static void checkKernelChain(Case c) {
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

    // ------------------------------------------------------------------ 3. bodies, loading, column sums

    /** Standard op -> the default-domain opset that introduced it. */
    static final Map<String, Integer> SINCE = Map.ofEntries(
            Map.entry("Constant", 1), Map.entry("ReduceMin", 1), Map.entry("ReduceMax", 1), Map.entry("Min", 1),
            Map.entry("Max", 1), Map.entry("Sub", 1), Map.entry("Div", 1), Map.entry("Neg", 1), Map.entry("Add", 1),
            Map.entry("Mul", 1), Map.entry("Round", 11), Map.entry("Cast", 1), Map.entry("Identity", 1),
            Map.entry("MatMulInteger", 10));

    @Test
    void bodiesUseOnlyStandardOpsOfTheirOpset() {
        for (int opset : OPSETS) {
            for (StampOp op : List.of(MixedPrecisionQuantize.INSTANCE, ScaledMatMulInteger.INSTANCE)) {
                OnnxMl.FunctionProto f = op.function(opset);
                String where = op.opName() + "@" + opset;
                assertEquals(StampDomain.NAME, f.getDomain(), where);
                assertEquals(op.inputs(), f.getInputList(), where);
                assertEquals(op.outputs(), f.getOutputList(), where);
                assertEquals(1, f.getOpsetImportCount(), where);
                assertEquals("", f.getOpsetImport(0).getDomain(), where);
                assertEquals(opset, f.getOpsetImport(0).getVersion(), where);
                List<String> defined = new ArrayList<>(f.getInputList());
                for (OnnxMl.NodeProto node : f.getNodeList()) {
                    assertEquals("", node.getDomain(), where + " " + node.getName());
                    Integer since = SINCE.get(node.getOpType());
                    assertTrue(since != null && since <= opset, where + ": " + node.getOpType() + " is not a standard op at this opset");
                    for (String in : node.getInputList()) assertTrue(defined.contains(in), where + " " + node.getName() + " reads undefined " + in);
                    defined.addAll(node.getOutputList());
                    switch (node.getOpType()) {
                        case "ReduceMin", "ReduceMax" -> {
                            boolean attr = node.getAttributeList().stream().anyMatch(a -> a.getName().equals("axes"));
                            assertEquals(opset < 18, attr, where + " " + node.getName() + ": axes attribute");
                            assertEquals(opset < 18 ? 1 : 2, node.getInputCount(), where + " " + node.getName());
                        }
                        case "MatMulInteger" -> assertEquals(2, node.getInputCount(), where + ": no zero-point inputs");
                        case "Cast" -> {
                            assertEquals(1, node.getAttributeCount(), where);
                            assertEquals("to", node.getAttribute(0).getName(), where);
                        }
                        default -> { }
                    }
                }
                assertTrue(defined.containsAll(op.outputs()), where + ": outputs not all written");
                Map<String, Integer> ops = OrtHarness.counts(f);
                if (op == ScaledMatMulInteger.INSTANCE) {
                    // one integer GEMM, straight on the formal uint8 / int8 inputs (not on dequantized floats)
                    assertEquals(1, ops.get("MatMulInteger"), where);
                    OnnxMl.NodeProto mmi = f.getNodeList().stream().filter(x -> x.getOpType().equals("MatMulInteger")).findFirst().orElseThrow();
                    assertEquals(List.of("Zq", "Wq"), mmi.getInputList(), where);
                    assertTrue(!ops.containsKey("MatMul") && !ops.containsKey("DequantizeLinear"), where);
                } else {
                    assertEquals(1, ops.get("ReduceMin"), where);
                    assertEquals(1, ops.get("ReduceMax"), where);
                    assertTrue(!ops.containsKey("QuantizeLinear") && !ops.containsKey("DequantizeLinear"), where);
                    long toUint8 = f.getNodeList().stream().filter(x -> x.getOpType().equals("Cast"))
                            .filter(x -> x.getAttribute(0).getI() == DataType.UINT8_VALUE).count();
                    assertEquals(1, toUint8, where + ": one Cast to uint8");
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ScaledMatMulInteger.INSTANCE.function(10));
    }

    @Test
    void ortLoadsTheBodiesAtEveryOptimizationLevel() {
        Case c = SWEEP.get(35); // rank 4, T 33, D 64
        assertArrayEquals(new long[] {2, 3, 33, 64}, c.z().shape());
        for (int opset : OPSETS) {
            Out all = ort(opset, c, false);
            for (OptLevel level : new OptLevel[] {OptLevel.NO_OPT, OptLevel.BASIC_OPT}) {
                Out o = IntegerHarness.run(opset, level, c.w(), false, c.z(), c.levels());
                String where = "opset " + opset + " " + level;
                assertArrayEquals(all.zq(), o.zq(), where);
                assertArrayEquals(all.scale(), o.scale(), where);
                assertArrayEquals(all.zeroPoint(), o.zeroPoint(), where);
                assertArrayEquals(all.y(), o.y(), where);
                assertArrayEquals(all.zhat(), o.zhat(), where);
            }
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
