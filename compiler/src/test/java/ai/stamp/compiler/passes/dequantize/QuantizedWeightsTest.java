package ai.stamp.compiler.passes.dequantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.quant.Dequantization;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.PassManager;
import ai.stamp.testmodels.QuantizedGraphs;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Already-quantized models: the dequantization arithmetic, and skipped without --dequantize-weights, rewritten with it (the pass's graphs: DequantizeWeightsPassTest). */
class QuantizedWeightsTest {
    private static OnnxMl.ModelProto dequantized(OnnxMl.ModelProto m) {
        return new PassManager(new ModelEditor(m)).run(new DequantizeWeightsPass(new LayerSelection(Optional.empty(), true)));
    }

    @Test
    void perAxisAndPerTensorArithmetic() {
        OnnxMl.TensorProto q = OnnxMl.TensorProto.newBuilder().setDataType(OnnxMl.TensorProto.DataType.INT8_VALUE).addDims(2).addDims(2)
                .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[] {-128, 127, 0, 5})).build();
        OnnxMl.TensorProto s = OnnxMl.TensorProto.newBuilder().setDataType(1).addDims(2).addFloatData(0.5f).addFloatData(2f).build();
        OnnxMl.TensorProto z = OnnxMl.TensorProto.newBuilder().setDataType(OnnxMl.TensorProto.DataType.INT8_VALUE).addDims(2)
                .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[] {0, 1})).build();
        // axis 1: column scales
        assertEquals("[-64.0, 252.0, 0.0, 8.0]", java.util.Arrays.toString(Dequantization.dequantize(q, s, z, 1).orElseThrow()));
        // axis 0: row scales
        assertEquals("[-64.0, 63.5, -2.0, 8.0]", java.util.Arrays.toString(Dequantization.dequantize(q, s, z, 0).orElseThrow()));
        OnnxMl.TensorProto u8 = q.toBuilder().setDataType(OnnxMl.TensorProto.DataType.UINT8_VALUE).build();
        OnnxMl.TensorProto one = OnnxMl.TensorProto.newBuilder().setDataType(1).addFloatData(0.25f).build();
        assertEquals("[32.0, 31.75, 0.0, 1.25]", java.util.Arrays.toString(Dequantization.dequantize(u8, one, null, 1).orElseThrow()));
        assertTrue(Dequantization.dequantize(q, s, null, 5).isEmpty(), "bad axis is unsupported, not an exception");
    }

    @Test
    void withoutTheFlagQuantizedLayersAreSkippedWithAReason() {
        StampResult r = StampCompiler.compile(QuantizedGraphs.qdq(13), StampConfig.defaults());
        assertEquals(0, r.report().rewritten().size());
        assertEquals(2, r.report().skipped().size());
        for (StampReport.Skipped s : r.report().skipped()) {
            assertTrue(s.reason().startsWith("already quantized: weight '"), s.reason());
            assertTrue(s.reason().contains("use --dequantize-weights"), s.reason());
        }
        assertTrue(r.report().skipped().get(0).reason().contains("DequantizeLinear 'W1_dq' of int8 constant 'W1_q'"), r.report().skipped().get(0).reason());
        StampResult d = StampCompiler.compile(QuantizedGraphs.dynamic(13), StampConfig.defaults());
        assertEquals(2, d.report().skipped().size());
        assertEquals("MatMulInteger", d.report().skipped().get(0).opType());
        assertTrue(d.report().skipped().get(0).reason().contains("already quantized: MatMulInteger"), d.report().skipped().get(0).reason());
    }

    @Test
    void withTheFlagTheyAreRewrittenAndStillRun() {
        StampConfig cfg = StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).dequantizeWeights(true).build();
        for (OnnxMl.ModelProto m : new OnnxMl.ModelProto[] {QuantizedGraphs.qdq(13), QuantizedGraphs.dynamic(13)}) {
            StampResult r = StampCompiler.compile(m, cfg);
            assertEquals(2, r.report().rewritten().size(), r.report().toJson());
            assertEquals(0, r.report().skipped().size(), r.report().toJson());
            Ort.Tensor x = Ort.random(9, 1, 12, 8);
            float[] ref = Ort.run(dequantized(m), Map.of("x", x)).get("y");
            float[] got = Ort.run(r.model(), Map.of("x", x)).get("y");
            assertTrue(Ort.maxRelativeError(ref, got) < 1e-4, "transform-only must reproduce the dequantized model");
        }
        assertTrue(cfg.toString().endsWith(" dequantize-weights"), cfg.toString());
    }
}
