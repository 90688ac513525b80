package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelInputsTest {
    @Test
    void ocrRecognizerDefaultsToATextLine() {
        OnnxMl.ModelProto ocr = ModelFile.read(RealModels.ppOcrV4Rec()).proto();
        assertFalse(ModelInputs.takesTokenIds(ocr));
        assertArrayEquals(new long[] {1, 3, 48, 320}, ModelInputs.resolveShapes(ocr, Map.of()).get("x"));
        assertArrayEquals(new long[] {1, 3, 48, 640}, ModelInputs.resolveShapes(ocr, ModelInputs.parseDims(List.of("x:3=640"))).get("x"));
        StampException e = assertThrows(StampException.class, () -> ModelInputs.resolveShapes(ocr, Map.of("nope", 3L)));
        assertEquals(StampException.Kind.BAD_OPTION, e.kind());
    }

    @Test
    void randomInputsAreReproducibleAndInTheUnitInterval() {
        OnnxMl.ModelProto ocr = ModelFile.read(RealModels.ppOcrV4Rec()).proto();
        List<ModelInputs.Sample> a = ModelInputs.random(ocr, Map.of(), 2, ModelInputs.DEFAULT_SEED);
        List<ModelInputs.Sample> b = ModelInputs.random(ocr, Map.of(), 2, ModelInputs.DEFAULT_SEED);
        float[] a0 = (float[]) a.get(0).inputs().get("x").data();
        assertEquals(3 * 48 * 320, a0.length);
        assertArrayEquals(a0, (float[]) b.get(0).inputs().get("x").data());
        assertFalse(java.util.Arrays.equals(a0, (float[]) a.get(1).inputs().get("x").data()), "samples must differ");
        for (float v : a0) assertTrue(v >= 0 && v < 1);
    }

    @Test
    void dimOptionsAreParsed() {
        assertEquals(Map.of("batch_size", 1L, "x:3", 320L), ModelInputs.parseDims(List.of("batch_size=1", "x:3=320")));
        assertThrows(StampException.class, () -> ModelInputs.parseDims(List.of("x")));
        assertThrows(StampException.class, () -> ModelInputs.parseDims(List.of("x=0")));
        assertThrows(StampException.class, () -> ModelInputs.parseDims(List.of("x=abc")));
    }

    @Test
    void miniLmGetsTextWindows() {
        var model = ModelFile.read(RealModels.miniLm());
        assertTrue(ModelInputs.takesTokenIds(model.proto()));
        List<ModelInputs.Sample> s = ModelInputs.forModel(model, null, RealModels.miniLmTokenizer(), 128, 2, Map.of());
        assertEquals(2, s.size());
        ModelInputs.Input ids = s.get(0).inputs().get("input_ids");
        assertArrayEquals(new long[] {1, 128}, ids.shape());
        long[] mask = (long[]) s.get(0).inputs().get("attention_mask").data();
        long[] types = (long[]) s.get(0).inputs().get("token_type_ids").data();
        for (int i = 0; i < 128; i++) {
            assertEquals(1, mask[i]);
            assertEquals(0, types[i]);
        }
    }
}
