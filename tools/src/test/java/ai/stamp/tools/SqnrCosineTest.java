package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Metrics on vectors small enough to work out by hand. */
class SqnrCosineTest {
    @Test
    void sqnrOfOnePair() {
        // x = (3, 4): |x|^2 = 25; x' = (3, 3): |x - x'|^2 = 1  ->  10 log10 25 = 13.9794 dB
        assertEquals(13.979400086720377, Sqnr.of(new float[] {3, 4}, new float[] {3, 3}), 1e-9);
        // error as large as the signal: 0 dB
        assertEquals(0.0, Sqnr.of(new float[] {1, -1}, new float[] {0, 0}), 1e-12);
    }

    @Test
    void sqnrSumsEnergiesOverSamplesBeforeTheRatio() {
        // sample 1: signal 1, noise 1; sample 2: signal 4, noise 1  ->  10 log10 (5 / 2) = 3.9794 dB,
        // not the mean of the per-sample values (0 dB and 6.02 dB)
        Sqnr s = new Sqnr().add(new float[] {1, 0}, new float[] {0, 0}).add(new float[] {0, 2}, new float[] {0, 1});
        assertEquals(10 * Math.log10(2.5), s.db(), 1e-12);
        assertEquals(5.0, s.signalEnergy(), 0);
        assertEquals(2.0, s.noiseEnergy(), 0);
        assertEquals(2.0, s.maxAbsReference(), 0);
        assertEquals(1.0, s.maxAbsError(), 0);
        assertEquals(0.5, s.maxRelativeError(), 0);
    }

    @Test
    void exactCopyIsInfiniteAndEmptyIsNaN() {
        assertEquals(Double.POSITIVE_INFINITY, Sqnr.of(new float[] {1, 2, 3}, new float[] {1, 2, 3}));
        assertTrue(Double.isNaN(new Sqnr().db()));
        assertThrows(IllegalArgumentException.class, () -> Sqnr.of(new float[] {1}, new float[] {1, 2}));
    }

    @Test
    void cosineOfFlatVectors() {
        assertEquals(1 / Math.sqrt(2), Cosine.of(new float[] {1, 0}, new float[] {1, 1}), 1e-12);
        assertEquals(-1.0, Cosine.of(new float[] {1, 2}, new float[] {-2, -4}), 1e-12);
        assertEquals(0.0, Cosine.of(new float[] {1, 0}, new float[] {0, 5}), 1e-12);
        assertEquals(1.0, Cosine.of(new float[] {0, 0}, new float[] {0, 0}), 0);
    }

    @Test
    void meanPoolingHonoursTheAttentionMask() {
        // [batch 1, seq 3, hidden 2]; the third token is masked out
        float[] data = {1, 2, 3, 4, 100, 100};
        float[][] pooled = Cosine.meanPool(data, new long[] {1, 3, 2}, new long[] {1, 1, 0});
        assertArrayEquals(new float[] {2, 3}, pooled[0], 0f);
        float[][] all = Cosine.meanPool(data, new long[] {1, 3, 2}, null);
        assertArrayEquals(new float[] {104f / 3, 106f / 3}, all[0], 1e-5f);
        // pooled cosine of x and x' = x with the per-token errors (+1, -1) and (-1, +1): they cancel in the mean
        float[] noisy = {2, 1, 2, 5, 100, 100};
        float[][] p2 = Cosine.meanPool(noisy, new long[] {1, 3, 2}, new long[] {1, 1, 0});
        assertEquals(1.0, Cosine.of(pooled[0], p2[0]), 1e-12);
    }
}
