package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.testmodels.RealModels;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prefill against incremental decoding through the KV cache, and the fp16 model beside the fp32 one. */
class PerplexityDecodingTest {
    @TempDir Path dir;

    private JsonObject run(String... extra) throws Exception {
        String[] args = new String[extra.length + 4];
        args[0] = RealModels.stories260K().toString();
        args[1] = RealModels.stories260KFp16().toString();
        args[2] = "--text";
        args[3] = PerplexityRuns.story().toString();
        System.arraycopy(extra, 0, args, 4, extra.length);
        return PerplexityRuns.run(dir, args);
    }

    @Test
    void tokenByTokenDecodingAgreesWithPrefillOnBothModels() throws Exception {
        JsonObject prefill = run();
        JsonObject decode = run("--chunk", "1");
        JsonObject chunks = run("--chunk", "5", "--window", "100"); // uneven chunks and several windows
        JsonObject prefill100 = run("--window", "100");
        assertEquals("--chunk 1 (token-by-token decoding through the KV cache)", decode.getAsJsonObject("settings").get("calls").getAsString());
        for (int m = 0; m < 2; m++) {
            double p = PerplexityRuns.perplexity(prefill, m);
            // measured on this text: 1.5e-7 relative (fp32), 5e-8 (fp16): float rounding of a different summation order only
            assertEquals(p, PerplexityRuns.perplexity(decode, m), 1e-5 * p);
            double p100 = PerplexityRuns.perplexity(prefill100, m);
            assertEquals(p100, PerplexityRuns.perplexity(chunks, m), 1e-5 * p100);
            assertEquals(324, PerplexityRuns.model(decode, m).get("tokensScored").getAsLong());
        }
    }

    @Test
    void fp16ModelScoresCloseToButNotExactlyAsFp32() throws Exception {
        JsonObject r = run();
        double fp32 = PerplexityRuns.perplexity(r, 0);
        double fp16 = PerplexityRuns.perplexity(r, 1);
        assertTrue(fp32 > 2 && fp32 < 4, "stories260K on a TinyStories-style text: " + fp32);
        assertNotEquals(fp32, fp16, "the fp16 model computes its MatMuls in float16");
        assertEquals(fp32, fp16, 1e-3 * fp32);
        String out = r.get("stdout").getAsString();
        assertTrue(out.contains("stories260K.onnx") && out.contains("stories260K_fp16.onnx"), out);
        assertTrue(out.contains("model                              perplexity   NLL/token  tokens scored   tokens/s  windows"), out);
    }
}
