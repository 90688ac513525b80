package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.stamp.testmodels.RealModels;
import com.google.gson.JsonObject;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command against a computation written out by hand for stories260K: its own feeds (names and shapes as the model
 * README gives them), one ORT run per window, log-softmax in double, and Hugging Face's sliding-window loop.
 */
class PerplexityReferenceTest {
    private static final long BOS = 1;

    @TempDir Path dir;

    @Test
    void prefillEqualsAPlainLoopOverOneWindow() throws Exception {
        double[] ref = reference(512, 511);
        JsonObject report = PerplexityRuns.run(dir, RealModels.stories260K().toString(), "--text", PerplexityRuns.story().toString());
        JsonObject m = PerplexityRuns.model(report, 0);
        assertEquals(324, ref[1], "story.txt is 324 tokens, all scored after BOS");
        assertEquals(ref[1], m.get("tokensScored").getAsLong());
        assertEquals(1, m.get("windows").getAsInt());
        assertEquals(ref[0], m.get("nllSum").getAsDouble(), 1e-9 * ref[0]);
        double ppl = Math.exp(ref[0] / ref[1]);
        assertEquals(ppl, m.get("perplexity").getAsDouble(), 1e-9 * ppl);
        String out = report.get("stdout").getAsString();
        assertTrue(out.contains(String.format(java.util.Locale.ROOT, "%.4f", ppl)), out);
        assertTrue(out.contains("BOS <s> (id 1), from the tokenizer's post-processor, starts every window, never scored"), out);
        assertEquals(511, report.getAsJsonObject("settings").get("stride").getAsInt());
    }

    @Test
    void slidingWindowsEqualHuggingFacesStridedLoop() throws Exception {
        double[] ref = reference(64, 24);
        JsonObject report = PerplexityRuns.run(dir, RealModels.stories260K().toString(), "--text", PerplexityRuns.story().toString(),
                "--window", "64", "--stride", "24");
        JsonObject m = PerplexityRuns.model(report, 0);
        assertEquals(324, m.get("tokensScored").getAsLong(), "every token scored once");
        assertEquals(ref[2], m.get("windows").getAsInt());
        assertEquals(ref[0], m.get("nllSum").getAsDouble(), 1e-9 * ref[0]);
        // more context per scored token than disjoint 64-token windows give: a lower perplexity
        double disjoint = PerplexityRuns.perplexity(PerplexityRuns.run(dir, RealModels.stories260K().toString(), "--text",
                PerplexityRuns.story().toString(), "--window", "64"), 0);
        assertTrue(Math.exp(ref[0] / ref[1]) < disjoint, Math.exp(ref[0] / ref[1]) + " vs " + disjoint);
    }

    /**
     * {NLL sum, tokens scored, windows} of story.txt: windows of BOS + (window − 1) text tokens starting {@code stride}
     * apart, each scoring the tokens after the previous window's end (Hugging Face's perplexity guide).
     */
    private static double[] reference(int window, int stride) throws Exception {
        long[] ids;
        try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(RealModels.stories260KTokenizer(), Map.of("padding", "false"))) {
            String text = Files.readString(PerplexityRuns.story());
            ids = t.encode(text, false, false).getIds();
            assertEquals(BOS, t.encode(text, true, false).getIds()[0], "the tokenizer adds <s> itself");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double nll = 0;
        long count = 0;
        int windows = 0;
        try (OrtSession s = env.createSession(RealModels.stories260K().toString(), new OrtSession.SessionOptions())) {
            int prevEnd = 0;
            for (int begin = 0; ; begin += stride) {
                int end = Math.min(begin + window - 1, ids.length);
                long[] input = new long[1 + end - begin];
                input[0] = BOS;
                System.arraycopy(ids, begin, input, 1, end - begin);
                float[][] logits = forward(env, s, input);
                for (int j = prevEnd; j < end; j++) {
                    float[] row = logits[j - begin]; // the position before token j in this window (BOS shifts by one)
                    double max = Double.NEGATIVE_INFINITY;
                    for (float v : row) max = Math.max(max, v);
                    double sum = 0;
                    for (float v : row) sum += Math.exp(v - max);
                    nll += max + Math.log(sum) - row[(int) ids[j]];
                    count++;
                }
                windows++;
                prevEnd = end;
                if (end == ids.length) break;
            }
        }
        return new double[] {nll, count, windows};
    }

    private static float[][] forward(OrtEnvironment env, OrtSession s, long[] input) throws Exception {
        int n = input.length;
        long[] positions = new long[n];
        for (int i = 0; i < n; i++) positions[i] = i;
        long[] mask = new long[n];
        Arrays.fill(mask, 1);
        Map<String, OnnxTensor> feeds = new HashMap<>();
        feeds.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(input), new long[] {1, n}));
        feeds.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {1, n}));
        feeds.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {1, n}));
        for (int l = 0; l < 5; l++) {
            for (String kv : new String[] {"key", "value"}) {
                feeds.put("past_key_values." + l + "." + kv, OnnxTensor.createTensor(env, FloatBuffer.allocate(0), new long[] {1, 4, 0, 8}));
            }
        }
        try (OrtSession.Result r = s.run(feeds)) {
            OnnxTensor logits = (OnnxTensor) r.get("logits").orElseThrow();
            FloatBuffer b = logits.getFloatBuffer();
            float[][] out = new float[n][512];
            for (int i = 0; i < n; i++) b.get(out[i]);
            return out;
        } finally {
            for (OnnxTensor t : feeds.values()) t.close();
        }
    }
}
