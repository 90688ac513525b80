package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The sink as a position on a real decoder (stories260K, Optimum I/O with a KV cache): the rewrite reads the past
 * length once, the chunk ops keep the transform exact across prefill and token-by-token decoding, a decode step runs
 * at the low bit width (so STaMP and its matched baseline decode identically), and the report gives the effective bits.
 */
class DecoderChunksEndToEndTest {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static final int TOKENS = 24;

    private static OnnxMl.ModelProto stories() { return ModelFile.read(RealModels.stories260K()).proto(); }

    static long[] someIds() {
        Random rnd = new Random(5);
        long[] ids = new long[TOKENS];
        ids[0] = 1; // BOS
        for (int i = 1; i < TOKENS; i++) ids[i] = 3 + rnd.nextInt(500);
        return ids;
    }

    /** Logits [TOKENS, V] of the ids fed {@code chunk} tokens per call through the KV cache. */
    static float[][] logits(OnnxMl.ModelProto model, long[] ids, int chunk) throws OrtException { return logits(model, ids, chunk, true); }

    /** As above; {@code useCacheBranch} feeds a merged decoder's {@code use_cache_branch} input (ignored without one). */
    static float[][] logits(OnnxMl.ModelProto model, long[] ids, int chunk, boolean useCacheBranch) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(1);
        try (OrtSession s = ENV.createSession(model.toByteArray(), so)) {
            return logits(s, ids, chunk, useCacheBranch);
        }
    }

    /** As above for a model file (its external data beside it). */
    static float[][] logits(java.nio.file.Path model, long[] ids, int chunk) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(1);
        try (OrtSession s = ENV.createSession(model.toString(), so)) {
            return logits(s, ids, chunk, true);
        }
    }

    private static float[][] logits(OrtSession s, long[] ids, int chunk, boolean useCacheBranch) throws OrtException {
        {
            List<float[]> rows = new ArrayList<>();
            Map<String, OnnxTensor> past = new HashMap<>();
            int p = 0;
            for (int start = 0; start < ids.length; start += chunk) {
                int n = Math.min(chunk, ids.length - start);
                Map<String, OnnxTensor> feeds = new HashMap<>();
                long[] c = java.util.Arrays.copyOfRange(ids, start, start + n);
                long[] pos = new long[n];
                for (int i = 0; i < n; i++) pos[i] = p + i;
                long[] mask = new long[p + n];
                java.util.Arrays.fill(mask, 1);
                feeds.put("input_ids", OnnxTensor.createTensor(ENV, LongBuffer.wrap(c), new long[] {1, n}));
                feeds.put("position_ids", OnnxTensor.createTensor(ENV, LongBuffer.wrap(pos), new long[] {1, n}));
                feeds.put("attention_mask", OnnxTensor.createTensor(ENV, LongBuffer.wrap(mask), new long[] {1, p + n}));
                if (s.getInputNames().contains("use_cache_branch")) feeds.put("use_cache_branch", OnnxTensor.createTensor(ENV, new boolean[] {useCacheBranch}));
                for (String in : s.getInputNames()) {
                    if (in.startsWith("past_key_values")) {
                        feeds.put(in, past.containsKey(in) ? past.get(in) : OnnxTensor.createTensor(ENV, FloatBuffer.allocate(0), emptyPast(s, in)));
                    }
                }
                try (OrtSession.Result r = s.run(feeds)) {
                    float[][][] l = (float[][][]) r.get("logits").get().getValue();
                    for (float[] row : l[0]) rows.add(row);
                    for (OnnxTensor t : feeds.values()) t.close();
                    past.clear();
                    for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : r) {
                        if (e.getKey().startsWith("present")) {
                            float[][][][] v = (float[][][][]) e.getValue().getValue();
                            past.put(e.getKey().replace("present", "past_key_values"), OnnxTensor.createTensor(ENV, v));
                        }
                    }
                }
                p += n;
            }
            for (OnnxTensor t : past.values()) t.close();
            return rows.toArray(new float[0][]);
        }
    }

    /** The declared past shape with batch 1 and 0 cached tokens ([B, kv_heads, P, head_dim]). */
    private static long[] emptyPast(OrtSession s, String input) throws OrtException {
        long[] shape = ((ai.onnxruntime.TensorInfo) s.getInputInfo().get(input).getInfo()).getShape().clone();
        shape[0] = 1;
        shape[2] = 0;
        return shape;
    }

    static double maxDiff(float[][] a, float[][] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
        return m;
    }

    @Test
    void theRewriteReadsThePastLengthOnceAndUsesTheChunkOps() {
        StampResult r = StampCompiler.compile(stories(), StampConfig.builder().build());
        OnnxMl.GraphProto g = r.model().getGraph();
        // the first nodes compute P = len(attention_mask) - len(input_ids), before anything reads it
        assertEquals(List.of("Shape", "Gather", "Shape", "Gather", "Sub"), g.getNodeList().subList(0, 5).stream().map(OnnxMl.NodeProto::getOpType).toList());
        String past = g.getNode(4).getOutput(0);
        long forward = g.getNodeList().stream().filter(n -> n.getOpType().startsWith("HaarSequenceChunk_")).count();
        long precision = g.getNodeList().stream().filter(n -> n.getOpType().startsWith("TokenPrecisionChunk_")).count();
        assertTrue(forward > 0 && precision > 0, "chunk ops emitted");
        assertTrue(g.getNodeList().stream().noneMatch(n -> n.getOpType().startsWith("HaarSequence_") || n.getOpType().startsWith("TokenPrecision_")),
                "no fixed-sink op left in a decoder");
        assertTrue(g.getNodeList().stream().filter(n -> n.getOpType().startsWith("HaarSequenceChunk_")).allMatch(n -> n.getInput(1).equals(past)));
        StampReport.Decoder d = r.report().decoder();
        assertNotNull(d);
        assertEquals("length of attention_mask - length of input_ids", d.pastLength());
        StampReport.ChunkBits decode = d.effectiveBits().stream().filter(b -> b.tokens() == 1).findFirst().orElseThrow();
        assertEquals(4.0, decode.averageBits(), "a one-token decode step is all low-bit");
        StampReport.ChunkBits prefill = d.effectiveBits().stream().filter(b -> b.tokens() == 512).findFirst().orElseThrow();
        // sink + 64 band tokens at 8 bits of T = 1 + 512 coefficient tokens
        assertEquals((65 * 8 + 448 * 4) / 513.0, prefill.averageBits(), 1e-9);
    }

    @Test
    void inspectPrintsTheEffectiveBitsOfPrefillAndDecode() {
        java.io.StringWriter out = new java.io.StringWriter(), err = new java.io.StringWriter();
        int code = StampCli.run(new java.io.PrintWriter(out), new java.io.PrintWriter(err), "inspect", RealModels.stories260K().toString());
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("decoder: sink = position 0, not the first token of each call (past length = length of attention_mask - length"
                + " of input_ids); effective activation bits: prefill 4.71 (16 tokens), 4.53 (128 tokens), 4.51 (512 tokens); decode 4.00 (1 token),"
                + " 4.00 (4 tokens)"), out.toString());
    }

    @Test
    void anEncoderHasNoDecoderSection() {
        assertNull(StampCompiler.compile(ModelFile.read(RealModels.miniLm()).proto(), StampConfig.builder().build()).report().decoder());
    }

    @Test
    void transformOnlyIsExactInPrefillAndInEveryChunkingOfTheCache() throws OrtException {
        long[] ids = someIds();
        float[][] reference = logits(stories(), ids, TOKENS);
        OnnxMl.ModelProto t = StampCompiler.compile(stories(), StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build()).model();
        for (int chunk : new int[] {TOKENS, 1, 3, 9}) {
            assertTrue(maxDiff(reference, logits(t, ids, chunk)) < 1e-3, "chunk " + chunk + ": " + maxDiff(reference, logits(t, ids, chunk)));
        }
    }

    @Test
    void theFloat16DecoderStaysExactThroughItsCacheInTransformOnlyAndLoadsQuantizedWithKv() throws OrtException {
        OnnxMl.ModelProto fp16 = ModelFile.read(RealModels.stories260KFp16()).proto();
        long[] ids = someIds();
        float[][] reference = logits(fp16, ids, TOKENS);
        OnnxMl.ModelProto t = StampCompiler.compile(fp16, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build()).model();
        double max = 0;
        for (float[] row : reference) for (float v : row) max = Math.max(max, Math.abs(v));
        // float16 transforms: a few float16 steps of the largest logit, prefill and token by token
        for (int chunk : new int[] {TOKENS, 1}) assertTrue(maxDiff(reference, logits(t, ids, chunk)) < max / 256, "chunk " + chunk);
        OnnxMl.ModelProto q = StampCompiler.compile(fp16, StampConfig.builder().kvBits(4).build()).model();
        float[][] steps = logits(q, ids, 1);
        assertEquals(TOKENS, steps.length);
        for (float[] row : steps) for (float v : row) assertTrue(Float.isFinite(v));
    }

    @Test
    void decodeStepsRunAtTheLowBitWidthSoStampAndBaselineDecodeAlike() throws OrtException {
        long[] ids = someIds();
        OnnxMl.ModelProto stamp = StampCompiler.compile(stories(), StampConfig.builder().build()).model();
        OnnxMl.ModelProto baseline = StampCompiler.compile(stories(), StampConfig.builder().mode(StampConfig.Mode.BASELINE).build()).model();
        float[][] stampSteps = logits(stamp, ids, 1), baselineSteps = logits(baseline, ids, 1);
        // token by token, neither transforms anything and both quantize every token after BOS at 4 bits
        for (int i = 0; i < TOKENS; i++) assertArrayEquals(baselineSteps[i], stampSteps[i], 1e-4f, "token " + i);
        // in one prefill they differ (STaMP transforms, the baseline keeps its first band-count tokens at 8 bits)
        assertTrue(maxDiff(logits(stamp, ids, TOKENS), logits(baseline, ids, TOKENS)) > 0.1);
    }
}
