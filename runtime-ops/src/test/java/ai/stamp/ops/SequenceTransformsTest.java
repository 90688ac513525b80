package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Sequence transforms: Java kernel vs ONNX Runtime on the function body at several opsets, and the
 * forward -> MatMul -> inverse round trip. Tolerance for the transforms: 1e-5·max|x| absolute (both
 * sides compute the same orthogonal block products; only the float summation order differs).
 */
class SequenceTransformsTest {
    static final int[] OPSETS = {11, 13, 18, 21};
    static final int[] LENGTHS = {1, 2, 7, 8, 9, 33, 256};
    static final Set<String> ALLOWED_AT_11 = Set.of("Constant", "Shape", "Slice", "Concat", "Reshape", "Pad", "Mod", "Neg",
            "MatMul", "Transpose", "Sub", "Div");

    private static void assertClose(FloatTensor expected, FloatTensor actual, float scale, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        float tol = 1e-5f * Math.max(scale, 1e-6f);
        for (int i = 0; i < expected.data().length; i++) {
            if (Math.abs(expected.data()[i] - actual.data()[i]) > tol) {
                throw new AssertionError(what + " element " + i + ": kernel " + expected.data()[i] + " ort " + actual.data()[i]);
            }
        }
    }

    /** Checks forward, inverse (through a random [D, N] weight) and the round trip, kernel and ORT. */
    private static void check(SequenceLayout layout, long[] xShape, int opset, Random rnd) {
        StampOp fwd = SequenceTransforms.forward(layout);
        StampOp inv = SequenceTransforms.inverse(layout);
        String what = fwd.functionName() + "@" + opset + " X" + java.util.Arrays.toString(xShape);
        FloatTensor x = OrtHarness.random(rnd, xShape);
        float mx = OrtHarness.maxAbs(x);
        FloatTensor zKernel = fwd.reference(x);
        FloatTensor zOrt = OrtHarness.run(fwd, opset, x);
        BlockGeometry g = BlockGeometry.of(layout, xShape[xShape.length - 2]);
        assertArrayEquals(new long[] {x.leadingCount(), g.transformedLength(), x.dim(-1)}, zKernel.shape(), what);
        assertClose(zKernel, zOrt, mx, what + " forward");

        int d = (int) x.dim(-1), n = 3;
        FloatTensor w = OrtHarness.random(rnd, d, n);
        FloatTensor y = OrtHarness.matmul(zKernel, w);
        FloatTensor expected = OrtHarness.matmul(x, w);
        float ymx = Math.max(OrtHarness.maxAbs(expected), mx * d);
        FloatTensor outKernel = inv.reference(y, x);
        FloatTensor outOrt = OrtHarness.run(inv, opset, y, x);
        assertClose(outKernel, outOrt, ymx, what + " inverse");
        assertClose(expected, outKernel, ymx, what + " round trip (kernel)");
        FloatTensor roundTripOrt = OrtHarness.run(inv, opset, OrtHarness.matmul(zOrt, w), x);
        assertClose(expected, roundTripOrt, ymx, what + " round trip (ORT)");
    }

    /** A 1D block transform's kernel vs ORT over opsets, levels 0/1/3, sink 0/1/2, S in LENGTHS, ranks 2-4. */
    private static void blockTransform1dMatchesOrt(String id, long seed) {
        Random rnd = new Random(seed);
        for (int opset : OPSETS) {
            for (int levels : new int[] {0, 1, 3}) {
                for (int sink : new int[] {0, 1, 2}) {
                    SequenceLayout layout = SequenceTransforms.of(id, levels, sink).layout();
                    for (int i = 0; i < LENGTHS.length; i++) {
                        int rank = 2 + (i + levels + sink) % 3; // every rank meets every (levels, sink)
                        check(layout, OrtHarness.shapeOfRank(rank, LENGTHS[i], LENGTHS[i] > 100 ? 4 : 5), opset, rnd);
                    }
                }
            }
        }
    }

    @Test
    void haar1dKernelMatchesOrt() { blockTransform1dMatchesOrt(HaarTransform.ID, 11); }

    @Test
    void dctKernelMatchesOrt() { blockTransform1dMatchesOrt(DctTransform.ID, 15); }

    @Test
    void whtKernelMatchesOrt() { blockTransform1dMatchesOrt(WhtTransform.ID, 16); }

    /** inverse(forward(X)) = X within 1e-5·max|x| (Y = Z, i.e. an identity weight), kernel and ORT, every family. */
    @Test
    void inverseUndoesForward() {
        Random rnd = new Random(17);
        for (String id : SequenceTransforms.ids()) {
            boolean twoD = id.equals(Haar2dTransform.ID);
            for (int levels : new int[] {0, 1, 3}) {
                for (int sink : new int[] {0, 1, 2}) {
                    SequenceTransform t = SequenceTransforms.of(id, levels, sink, twoD ? 5 : 0);
                    for (int len : twoD ? new int[] {sink, sink + 5, sink + 35} : LENGTHS) {
                        if (len == 0) continue;
                        FloatTensor x = OrtHarness.random(rnd, OrtHarness.shapeOfRank(2 + len % 3, len, 4));
                        float mx = OrtHarness.maxAbs(x);
                        String what = t + " S=" + len;
                        assertClose(x, t.inverse().reference(t.forward().reference(x), x), mx, what + " kernel");
                        for (int opset : new int[] {11, 21}) {
                            FloatTensor z = OrtHarness.run(t.forward(), opset, x);
                            assertClose(x, OrtHarness.run(t.inverse(), opset, z, x), mx, what + " ORT@" + opset);
                        }
                    }
                }
            }
        }
    }

    @Test
    void haar2dKernelMatchesOrt() {
        Random rnd = new Random(12);
        int[][] grids = {{4, 4}, {5, 7}, {14, 14}, {3, 1}};
        for (int opset : OPSETS) {
            for (int levels : new int[] {0, 1, 3}) {
                for (int sink : new int[] {0, 1, 2}) {
                    for (int gi = 0; gi < grids.length; gi++) {
                        int hg = grids[gi][0], wg = grids[gi][1];
                        int rank = 2 + (gi + levels) % 3;
                        check(SequenceLayout.haar2d(levels, sink, hg), OrtHarness.shapeOfRank(rank, sink + hg * wg, 3), opset, rnd);
                    }
                    // fewer tokens than the sink: everything passes through, no grid
                    if (sink > 0) check(SequenceLayout.haar2d(levels, sink, 4), OrtHarness.shapeOfRank(3, sink - 1 == 0 ? 1 : sink - 1, 3), opset, rnd);
                }
            }
        }
    }

    @Test
    void sinkLongerThanOneBlock() {
        // the 1D inverse pads the sink rows at the front to k0 = ceil(sink / B) identity blocks: k0 >= 2 here
        Random rnd = new Random(14);
        for (int opset : new int[] {11, 13}) {
            for (int[] ls : new int[][] {{1, 5}, {2, 9}, {2, 8}}) {
                for (int len : new int[] {1, 4, 5, 8, 9, 10, 33}) {
                    for (String id : new String[] {HaarTransform.ID, DctTransform.ID, WhtTransform.ID}) {
                        check(SequenceTransforms.of(id, ls[0], ls[1]).layout(), OrtHarness.shapeOfRank(2 + len % 3, len, 3), opset, rnd);
                    }
                }
            }
        }
    }

    @Test
    void sequenceShorterThanSinkPassesThrough() {
        Random rnd = new Random(13);
        SequenceLayout layout = SequenceLayout.haar1d(3, 4);
        FloatTensor x = OrtHarness.random(rnd, 2, 3, 5);
        FloatTensor z = OrtHarness.run(SequenceTransforms.forward(layout), 13, x);
        assertArrayEquals(new long[] {2, 3, 5}, z.shape());
        assertArrayEquals(x.data(), z.data());
    }

    @Test
    void bodiesUseOnlyExpectedStandardOps() {
        SequenceLayout[] layouts = {SequenceLayout.haar1d(3, 1), SequenceLayout.haar2d(3, 1, 14),
                SequenceTransforms.of("dct", 3, 1).layout(), SequenceTransforms.of("wht", 3, 0).layout()};
        for (SequenceLayout l : layouts) {
            for (StampOp op : new StampOp[] {SequenceTransforms.forward(l), SequenceTransforms.inverse(l)}) {
                OnnxMl.FunctionProto f = op.function(11);
                assertEquals(StampDomain.NAME, f.getDomain());
                assertEquals(op.functionName(), f.getName());
                assertEquals(11, f.getOpsetImport(0).getVersion());
                Map<String, Integer> counts = OrtHarness.counts(f);
                assertTrue(ALLOWED_AT_11.containsAll(counts.keySet()), op.functionName() + " uses " + counts.keySet());
                assertEquals(1, counts.get("MatMul"), "one MatMul per transform");
                // block formulation: at most two Slices touch activations (sink / rest), none per level
                long dataSlices = f.getNodeList().stream().filter(nd -> nd.getOpType().equals("Slice")
                        && !nd.getInput(0).startsWith("_t") && !nd.getInput(0).startsWith("_c")).count();
                assertTrue(dataSlices <= 2, op.functionName() + " slices its input " + dataSlices + " times");
            }
        }
    }

    @Test
    void functionNamesAreUniquePerAttributes() {
        assertEquals("HaarSequence_l3_s1", SequenceTransforms.forward(SequenceLayout.haar1d(3, 1)).functionName());
        assertEquals("HaarSequenceInverse_l3_s1", SequenceTransforms.inverse(SequenceLayout.haar1d(3, 1)).functionName());
        assertEquals("Haar2dSequence_l3_s1_h14", SequenceTransforms.forward(SequenceLayout.haar2d(3, 1, 14)).functionName());
        assertEquals("Haar2dSequenceInverse_l3_s1_h14", SequenceTransforms.inverse(SequenceLayout.haar2d(3, 1, 14)).functionName());
        assertEquals("DctSequence_l3_s1", SequenceTransforms.forward(SequenceTransforms.of("dct", 3, 1).layout()).functionName());
        assertEquals("DctSequenceInverse_l3_s1", SequenceTransforms.inverse(SequenceTransforms.of("dct", 3, 1).layout()).functionName());
        assertEquals("WhtSequence_l2_s0", SequenceTransforms.forward(SequenceTransforms.of("wht", 2, 0).layout()).functionName());
        assertEquals("WhtSequenceInverse_l2_s0", SequenceTransforms.inverse(SequenceTransforms.of("wht", 2, 0).layout()).functionName());
        assertEquals("DctSequence levels=3 sink_tokens=1", SequenceTransforms.of("dct", 3, 1).forward().function(13).getDocString());
        assertThrows(IllegalArgumentException.class,
                () -> SequenceTransforms.forward(SequenceLayout.haar1d(3, 1).identityOf()));
        assertThrows(IllegalArgumentException.class,
                () -> SequenceTransforms.inverse(SequenceTransforms.of("dct", 3, 1).layout().identityOf()));
    }
}
