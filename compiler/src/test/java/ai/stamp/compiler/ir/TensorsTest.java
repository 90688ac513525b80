package ai.stamp.compiler.ir;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.TensorProto;
import org.junit.jupiter.api.Test;

/** The float16 encoder against the decoder. */
class TensorsTest {
    @Test
    void everyHalfSurvivesTheRoundTrip() {
        for (int h = 0; h < 0x10000; h++) {
            if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) continue; // NaN payloads
            assertEquals(h, Tensors.floatToHalf(Tensors.halfToFloat(h)), Integer.toHexString(h));
        }
        assertEquals(0x7e00, Tensors.floatToHalf(Float.NaN) & 0x7e00);
    }

    @Test
    void roundingIsToNearestEvenAndOverflowIsInfinity() {
        float one = 1f, ulp = 0x1p-10f;
        assertEquals(0x3c00, Tensors.floatToHalf(one + ulp / 2), "a tie goes to the even 1.0");
        assertEquals(0x3c02, Tensors.floatToHalf(one + 3 * ulp / 2), "a tie goes to the even 1 + 2 ulp");
        assertEquals(0x3c01, Tensors.floatToHalf(one + ulp / 2 + 0x1p-20f));
        assertEquals(0x7c00, Tensors.floatToHalf(65520f), "rounds up past 65504");
        assertEquals(0x7bff, Tensors.floatToHalf(65519f));
        assertEquals(0x0001, Tensors.floatToHalf(0x1p-24f), "smallest subnormal");
        assertEquals(0x0000, Tensors.floatToHalf(0x1p-25f), "a tie to even zero");
        assertEquals(0x8000, Tensors.floatToHalf(-0f));
        TensorProto t = Tensors.float16Tensor(new float[] {1f, -2f}, 2);
        assertEquals(TensorProto.DataType.FLOAT16_VALUE, t.getDataType());
        assertEquals("[1.0, -2.0]", java.util.Arrays.toString(Tensors.readAsFloats(t).orElseThrow()));
    }
}
