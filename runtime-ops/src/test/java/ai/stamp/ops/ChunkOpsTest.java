package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The decoder chunk ops (sink as a position, short chunks untransformed): Java kernels against ORT over chunk lengths,
 * past lengths, sinks, levels and ranks; the round trip; and the two properties the semantics promise — a prefill
 * (past 0) is the encoder op, and a one-token decode step is untransformed at the low bit width.
 */
class ChunkOpsTest {
    static final int[] OPSETS = {11, 13, 18};
    static final int[] LENGTHS = {1, 2, 3, 7, 8, 9, 17};
    static final long[] PASTS = {0, 1, 2, 5};

    private static FloatTensor past(long p) { return new FloatTensor(new float[] {p}, new long[] {1}); }

    private static void assertClose(FloatTensor want, FloatTensor got, double tol, String what) {
        assertArrayEquals(want.shape(), got.shape(), what + " shape");
        for (int i = 0; i < want.data().length; i++) {
            assertEquals(want.data()[i], got.data()[i], tol * (1 + Math.abs(want.data()[i])), what + " @" + i);
        }
    }

    private static void transformMatchesOrt(String id) {
        Random rnd = new Random(7);
        for (int levels : new int[] {0, 1, 3}) {
            for (int sink : new int[] {0, 1, 2}) {
                SequenceTransform tr = SequenceTransforms.of(id, levels, sink);
                ChunkSequence fwd = new ChunkSequence(tr);
                ChunkSequenceInverse inv = new ChunkSequenceInverse(tr);
                for (int opset : OPSETS) {
                    for (int s : LENGTHS) {
                        for (long p : PASTS) {
                            int rank = 2 + (s + (int) p) % 3;
                            FloatTensor x = OrtHarness.random(rnd, OrtHarness.shapeOfRank(rank, s, 3));
                            String what = fwd.functionName() + "@" + opset + " S=" + s + " P=" + p;
                            FloatTensor z = fwd.reference(x, past(p));
                            assertEquals(ChunkGeometry.of(tr, s, p).transformedLength(tr), z.dim(-2), what);
                            assertClose(z, OrtHarness.run(fwd, opset, x, past(p)), 1e-5, what);
                            FloatTensor back = inv.reference(z, x, past(p));
                            assertClose(x, back, 1e-5, what + " round trip");
                            assertClose(back, OrtHarness.run(inv, opset, z, x, past(p)), 1e-5, what + " inverse");
                        }
                    }
                }
            }
        }
    }

    @Test void haarKernelsMatchOrt() { transformMatchesOrt(HaarTransform.ID); }

    @Test void dctKernelsMatchOrt() { transformMatchesOrt(DctTransform.ID); }

    @Test void whtKernelsMatchOrt() { transformMatchesOrt(WhtTransform.ID); }

    @Test
    void prefillIsTheEncoderOpAndLaterChunksHaveNoSink() {
        Random rnd = new Random(3);
        SequenceTransform tr = new HaarTransform(3, 1);
        FloatTensor x = OrtHarness.random(rnd, 1, 20, 4);
        assertArrayEquals(BlockSequence.apply(tr, x).data(), ChunkSequence.apply(tr, x, 0).data());
        assertArrayEquals(BlockSequence.apply(new HaarTransform(3, 0), x).data(), ChunkSequence.apply(tr, x, 7).data());
        // a one-token decode step: untransformed (Z = X), one token at the low bit width, no sink
        FloatTensor step = OrtHarness.random(rnd, 1, 1, 4);
        assertArrayEquals(step.data(), OrtHarness.run(new ChunkSequence(tr), 13, step, past(30)).data());
        ChunkTokenPrecision band = new TokenPrecision(tr.layout(), 8, 4, 0).chunked();
        assertArrayEquals(new int[] {4}, band.bitsPerToken(1, 30));
        assertArrayEquals(new float[] {QuantNumerics.steps(4)}, OrtHarness.run(band, 13, FloatTensor.zeros(1, 1, 4), past(30)).data());
        // the encoder's op keeps it at 8 bits as a sink: what the chunk op fixes
        assertEquals(8, new TokenPrecision(tr.layout(), 8, 4, 0).bitsPerToken(1)[0]);
        assertEquals(4.0, band.averageBits(1, 30));
        assertEquals((1 * 8 + 3 * 8 + 21 * 4) / 25.0, band.averageBits(20, 0), 1e-12); // sink + 3 band tokens of T = 1 + 24
    }

    private static void precisionMatchesOrt(ChunkTokenPrecision op, SequenceTransform tr, boolean identity) {
        for (int opset : OPSETS) {
            for (int s : LENGTHS) {
                for (long p : PASTS) {
                    int t = identity ? s : ChunkGeometry.of(tr, s, p).transformedLength(tr);
                    FloatTensor z = FloatTensor.zeros(OrtHarness.shapeOfRank(2 + s % 2, t, 2));
                    String what = op.functionName() + "@" + opset + " S=" + s + " P=" + p;
                    FloatTensor ort = OrtHarness.run(op, opset, z, past(p));
                    assertArrayEquals(new long[] {t, 1}, ort.shape(), what);
                    assertArrayEquals(op.reference(z, past(p)).data(), ort.data(), what);
                }
            }
        }
    }

    @Test
    void tokenPrecisionKernelMatchesOrtForEveryRule() {
        for (String id : List.of(HaarTransform.ID, DctTransform.ID)) {
            for (int levels : new int[] {1, 3}) {
                for (int sink : new int[] {0, 1, 2}) {
                    SequenceTransform tr = SequenceTransforms.of(id, levels, sink);
                    for (int k : new int[] {0, 3, 16}) {
                        precisionMatchesOrt(new TokenPrecision(tr.layout(), 8, 4, k).chunked(), tr, false);
                        precisionMatchesOrt(new TokenPrecision(tr.layout().identityOf(), 8, 4, k).chunked(), tr, true);
                    }
                    int[] table = new int[tr.blockSide()];
                    for (int c = 0; c < table.length; c++) table[c] = c == 0 ? 8 : c < 2 ? 6 : 3;
                    precisionMatchesOrt(TokenPrecision.withTable(tr.layout(), 8, table).chunked(), tr, false);
                }
            }
        }
    }

    @Test
    void aShortChunkAfterThePastGetsNoHighTokenInEitherLayout() {
        SequenceTransform tr = new HaarTransform(3, 1);
        int[] stamp = new TokenPrecision(tr.layout(), 8, 4, 0).chunked().bitsPerToken(5, 12);
        int[] baseline = new TokenPrecision(tr.layout().identityOf(), 8, 4, 0).chunked().bitsPerToken(5, 12);
        assertArrayEquals(new int[] {4, 4, 4, 4, 4}, stamp);
        assertArrayEquals(stamp, baseline);
        // long enough to transform: 9 tokens after the past → two blocks (16 coefficients), two band tokens high
        int[] nine = new TokenPrecision(tr.layout(), 8, 4, 0).chunked().bitsPerToken(16, 12);
        assertEquals(2, java.util.Arrays.stream(nine).filter(b -> b == 8).count());
        int[] nineBase = new TokenPrecision(tr.layout().identityOf(), 8, 4, 0).chunked().bitsPerToken(9, 12);
        assertEquals(2, java.util.Arrays.stream(nineBase).filter(b -> b == 8).count());
        assertTrue(nineBase[0] == 8 && nineBase[1] == 8 && nineBase[2] == 4);
    }
}
