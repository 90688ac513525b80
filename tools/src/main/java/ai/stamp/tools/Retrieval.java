package ai.stamp.tools;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.LoadedModel;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a retrieval user of an embedding model cares about: does the rewritten model find the same neighbours as the
 * original?
 *
 * <ul>
 * <li><b>Sentences</b>: the first {@value #SENTENCES} sentences of the validation text (split after '.', '!' or '?'
 *     followed by white space; pieces of fewer than {@value #MIN_WORDS} words dropped), each tokenized alone and
 *     wrapped in the tokenizer's special tokens (at most {@code seqLen} tokens), batch 1, attention mask ones.</li>
 * <li><b>Embedding</b>: the attention-mask mean pool of the model's pooled output [1, seq, hidden] (the one validate
 *     reports a "pooled" cosine for), as sentence-embedding clients compute it.</li>
 * <li><b>Neighbours</b>: each sentence in turn is a query against all the others (itself excluded), ranked by cosine of
 *     the embeddings, highest first (ties: lower sentence index first); the top k with k = min({@value #K}, n − 1).</li>
 * <li><b>recall@k</b>: per query, |top-k of the rewritten model ∩ top-k of the original| / k, averaged over the n
 *     queries (1 = every query retrieves the same k sentences, in any order).</li>
 * <li><b>top-1 agreement</b>: the number of queries whose nearest neighbour is the same sentence in both models.</li>
 * </ul>
 */
public final class Retrieval {
    public static final int SENTENCES = 20;
    public static final int K = 10;
    static final int MIN_WORDS = 3;

    private Retrieval() {}

    /** recall@k and top-1 agreement over {@code queries} sentences, measured on output {@code output}. */
    public record Result(String output, int queries, int k, double recallAtK, int top1Agree) {
        public JsonObject toJson() {
            JsonObject j = new JsonObject();
            j.addProperty("output", output);
            j.addProperty("sentences", queries);
            j.addProperty("k", k);
            j.addProperty("recall_at_k", Math.round(recallAtK * 1e6) / 1e6);
            j.addProperty("top1_agree", top1Agree);
            return j;
        }

        public String describe() {
            return String.format("retrieval over %d sentences (each a query against the others; neighbours by cosine of the mean-pooled %s): "
                    + "recall@%d %.3f, top-1 agreement %d/%d", queries, output, k, recallAtK, top1Agree, queries);
        }
    }

    /** The first {@code max} sentences of {@code text} (see the class comment). */
    public static List<String> sentences(String text, int max) {
        List<String> out = new ArrayList<>();
        for (String s : text.split("(?<=[.!?])\\s+")) {
            String t = s.strip();
            if (t.isEmpty() || t.split("\\s+").length < MIN_WORDS) continue;
            out.add(t);
            if (out.size() == max) break;
        }
        return out;
    }

    /** Compares the neighbours of {@code candidate}'s embeddings with {@code reference}'s (row i: sentence i). */
    public static Result compare(String output, float[][] reference, float[][] candidate, int k) {
        int n = reference.length;
        if (n < 2 || candidate.length != n) throw new IllegalArgumentException("need >= 2 sentences in both, got " + n + " and " + candidate.length);
        int kk = Math.min(k, n - 1);
        double recall = 0;
        int top1 = 0;
        for (int q = 0; q < n; q++) {
            int[] a = neighbours(reference, q, kk);
            int[] b = neighbours(candidate, q, kk);
            Set<Integer> set = new HashSet<>();
            for (int i : a) set.add(i);
            int overlap = 0;
            for (int i : b) if (set.contains(i)) overlap++;
            recall += (double) overlap / kk;
            if (a[0] == b[0]) top1++;
        }
        return new Result(output, n, kk, recall / n, top1);
    }

    /** The indices of the {@code k} rows nearest row {@code q} by cosine, nearest first, {@code q} excluded. */
    static int[] neighbours(float[][] e, int q, int k) {
        Integer[] idx = new Integer[e.length - 1];
        double[] cos = new double[e.length];
        for (int i = 0, j = 0; i < e.length; i++) {
            if (i == q) continue;
            cos[i] = Cosine.of(e[q], e[i]);
            idx[j++] = i;
        }
        Arrays.sort(idx, (x, y) -> cos[x] != cos[y] ? Double.compare(cos[y], cos[x]) : Integer.compare(x, y));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = idx[i];
        return out;
    }

    /**
     * Measures {@code rewritten} against {@code original} on the sentences of {@code text} (see the class comment);
     * null when the text has fewer than 3 sentences.
     */
    public static Result measure(LoadedModel original, LoadedModel rewritten, Path tokenizer, String text, int seqLen, String output) {
        List<String> sentences = sentences(text, SENTENCES);
        if (sentences.size() < 3) return null;
        List<ModelInputs.Sample> samples = new ArrayList<>();
        try (TokenWindows tw = TokenWindows.load(tokenizer)) {
            for (String s : sentences) samples.add(sentenceSample(original, tw, s, seqLen));
        }
        return compare(output, embed(original, samples, output), embed(rewritten, samples, output), K);
    }

    /** One sentence alone, wrapped in the tokenizer's special tokens, at most {@code seqLen} tokens, batch 1. */
    static ModelInputs.Sample sentenceSample(LoadedModel model, TokenWindows tw, String sentence, int seqLen) {
        long[] body = tw.encode(sentence);
        long[] pre = tw.prefix();
        long[] suf = tw.suffix();
        int n = Math.min(Math.max(1, seqLen - pre.length - suf.length), body.length);
        long[] ids = new long[pre.length + n + suf.length];
        System.arraycopy(pre, 0, ids, 0, pre.length);
        System.arraycopy(body, 0, ids, pre.length, n);
        System.arraycopy(suf, 0, ids, ids.length - suf.length, suf.length);
        return ModelInputs.fromWindows(model.proto(), List.of(ids)).get(0);
    }

    /** The mean-pooled {@code output} of each sample (row i: sample i). */
    static float[][] embed(LoadedModel model, List<ModelInputs.Sample> samples, String output) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] out = new float[samples.size()][];
        try (OrtSession s = Validator.session(env, model.proto(), model)) {
            for (int i = 0; i < samples.size(); i++) {
                ModelInputs.Sample sample = samples.get(i);
                Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
                try {
                    for (Map.Entry<String, ModelInputs.Input> e : sample.inputs().entrySet()) {
                        if (s.getInputNames().contains(e.getKey())) feeds.put(e.getKey(), e.getValue().toTensor(env));
                    }
                    try (OrtSession.Result r = s.run(feeds, Set.of(output))) {
                        OnnxTensor t = (OnnxTensor) r.get(output).orElseThrow();
                        out[i] = Cosine.meanPool(Validator.toFloats(t), t.getInfo().getShape(), sample.attentionMask())[0];
                    }
                } finally {
                    for (OnnxTensor t : feeds.values()) t.close();
                }
            }
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime failed to embed the retrieval sentences with "
                    + model.path().getFileName() + ": " + TokenWindows.firstLine(e), e);
        }
        return out;
    }
}
