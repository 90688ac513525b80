package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** CompletedBlocks: the KV cache's split into sink + whole blocks and the open block, kernel vs ORT. */
class CompletedBlocksTest {
    @Test
    void kernelMatchesOrtForEveryCacheLength() {
        Random rnd = new Random(11);
        for (int levels : new int[] {0, 1, 3}) {
            for (int sink : new int[] {0, 1, 2}) {
                CompletedBlocks op = new CompletedBlocks(new HaarTransform(levels, sink));
                for (int opset : new int[] {11, 13, 18}) {
                    for (int t : new int[] {1, 2, 7, 8, 9, 10, 17, 33}) {
                        FloatTensor c = OrtHarness.random(rnd, 2, 3, t, 4);
                        FloatTensor[] want = op.split(c);
                        String what = op.functionName() + "@" + opset + " T=" + t;
                        assertArrayEquals(want[0].shape(), OrtHarness.run(op, opset, c).shape(), what);
                        assertArrayEquals(want[0].data(), OrtHarness.run(op, opset, c).data(), what);
                        assertArrayEquals(want[1].data(), OrtHarness.runOutput(op, opset, 1, c).data(), what);
                        assertArrayEquals(want[1].shape(), OrtHarness.runOutput(op, opset, 1, c).shape(), what);
                    }
                }
            }
        }
    }

    /** What makes the growing cache consistent: a head quantized by one call is left (nearly) as it is by the next. */
    @Test
    void requantizingAQuantizedHeadChangesItOnlyByFloatRounding() {
        Random rnd = new Random(2);
        HaarTransform haar = new HaarTransform(3, 1);
        TokenPrecision precision = new TokenPrecision(haar.layout(), 8, 4, 0);
        FloatTensor head = new CompletedBlocks(haar).split(OrtHarness.random(rnd, 1, 4, 30, 8))[0];
        FloatTensor once = roundTrip(haar, precision, head), twice = roundTrip(haar, precision, once);
        double worst = 0, scale = OrtHarness.maxAbs(once);
        for (int i = 0; i < once.data().length; i++) worst = Math.max(worst, Math.abs(once.data()[i] - twice.data()[i]));
        assertTrue(worst <= 1e-5 * scale, "max change " + worst + " of max " + scale);
        double firstChange = 0;
        for (int i = 0; i < once.data().length; i++) firstChange = Math.max(firstChange, Math.abs(once.data()[i] - head.data()[i]));
        assertTrue(firstChange > 1e-2 * scale, "the first quantization does change the head");
    }

    private static FloatTensor roundTrip(HaarTransform haar, TokenPrecision precision, FloatTensor head) {
        FloatTensor z = BlockSequence.apply(haar, head);
        FloatTensor q = MixedPrecisionQdq.apply(z, precision.apply(z.dim(-2)));
        return BlockSequenceInverse.apply(haar, q, head.shape());
    }

    @Test
    void theHeadIsTheSinkAndTheCompletedBlocks() {
        CompletedBlocks op = new CompletedBlocks(new HaarTransform(3, 1));
        assertEquals(1, op.headLength(1));
        assertEquals(1, op.headLength(8));
        assertEquals(9, op.headLength(9));
        assertEquals(9, op.headLength(16));
        assertEquals(17, op.headLength(17));
        assertEquals(505, op.headLength(512));
    }
}
