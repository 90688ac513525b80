package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import ai.stamp.tools.bench.LlamaDecoderGenerator;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated Llama-shaped decoder (the scale benchmark's model, small here) is a working causal LM with a KV cache:
 * a prefill and token-by-token decoding agree, and the default rewrite with --kv-bits loads and stays exact in
 * transform-only mode.
 */
class LlamaDecoderGeneratorTest {
    @TempDir Path dir;

    @Test
    void aSmallGeneratedDecoderRunsThroughItsCacheAndRewrites() throws OrtException {
        // tied lm_head with the fused SimplifiedLayerNormalization RMSNorm; separate lm_head with the decomposed one
        for (boolean tied : new boolean[] {false, true}) {
            Path model = dir.resolve("llama" + tied + ".onnx");
            LlamaDecoderGenerator.generate(model, new LlamaDecoderGenerator.Spec(64, 2, 8, 2, 96, 50, tied, tied, 3));
            long[] ids = new long[20];
            Random rnd = new Random(1);
            for (int i = 0; i < ids.length; i++) ids[i] = rnd.nextInt(50);
            float[][] prefill = DecoderChunksEndToEndTest.logits(model, ids, ids.length);
            assertTrue(DecoderChunksEndToEndTest.maxDiff(prefill, DecoderChunksEndToEndTest.logits(model, ids, 1)) < 1e-4, "prefill = decode");
            for (String mode : new String[] {"transform-only", "stamp"}) {
                Path out = dir.resolve("out-" + mode + tied + ".onnx");
                StringWriter o = new StringWriter(), e = new StringWriter();
                int code = StampCli.run(new PrintWriter(o), new PrintWriter(e), model.toString(), out.toString(), "--mode", mode, "--kv-bits", "4");
                assertEquals(0, code, e.toString());
                assertTrue(o.toString().contains("KV cache (" + mode + ", 8/4 bits, 4 tensors)"), o.toString());
                float[][] rewritten = DecoderChunksEndToEndTest.logits(out, ids, 1);
                double diff = DecoderChunksEndToEndTest.maxDiff(prefill, rewritten);
                if (mode.equals("transform-only")) assertTrue(diff < 1e-3, "transform-only decode: " + diff);
                else assertTrue(diff > 1e-3, "quantized: " + diff);
            }
        }
    }
}
