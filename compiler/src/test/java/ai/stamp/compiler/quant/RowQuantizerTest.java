package ai.stamp.compiler.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RowQuantizerTest {
    @Test
    void oneScalePerRowRoundHalfToEvenAndAnAllZeroRowGetsScaleOne() {
        float[] t = {
            254f, 5f, 7f, -5f, -1f,   // s = 2: 127, 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, -0.5 -> -0
            0f, 0f, 0f, 0f, 0f,       // s = 1
            -0.127f, 0.0635f, 0f, 0.001f, -0.0005f,
        };
        RowQuantizer.Quantized q = RowQuantizer.quantize(t, 3, 5);
        assertEquals(2f, q.scales()[0]);
        assertEquals(1f, q.scales()[1]);
        assertEquals(0.127f / 127f, q.scales()[2]);
        assertArrayEquals(new byte[] {127, 2, 4, -2, 0}, java.util.Arrays.copyOfRange(q.values(), 0, 5));
        assertArrayEquals(new byte[5], java.util.Arrays.copyOfRange(q.values(), 5, 10));
        assertEquals(-127, q.values()[10]);
        assertEquals((float) (q.values()[11] * q.scales()[2]), q.dequantized(2, 1));
        for (int r = 0; r < 3; r++) {
            for (int e = 0; e < 5; e++) {
                assertTrue(Math.abs(t[r * 5 + e] - q.dequantized(r, e)) <= q.scales()[r] / 2 * (1 + 1e-6) + Math.ulp(t[r * 5 + e]), r + "," + e);
                assertTrue(Math.abs(q.values()[r * 5 + e]) <= 127);
            }
        }
    }

    @Test
    void nonFiniteValuesAreDetectedAndShapesChecked() {
        assertTrue(RowQuantizer.allFinite(new float[] {1f, -3f}));
        assertFalse(RowQuantizer.allFinite(new float[] {1f, Float.NaN}));
        assertFalse(RowQuantizer.allFinite(new float[] {Float.NEGATIVE_INFINITY}));
        assertThrows(IllegalArgumentException.class, () -> RowQuantizer.quantize(new float[6], 2, 4));
    }
}
