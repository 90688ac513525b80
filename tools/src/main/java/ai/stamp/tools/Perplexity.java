package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import java.util.List;

/** Next-token perplexity of one causal LM over planned windows of a tokenized text. */
public final class Perplexity {
    /** One model's figures; NLL in nats. */
    public record Result(String model, double nllSum, long tokens, int windows, double seconds) {
        public double meanNll() { return nllSum / tokens; }

        public double perplexity() { return Math.exp(meanNll()); }

        public double tokensPerSecond() { return seconds > 0 ? tokens / seconds : Double.POSITIVE_INFINITY; }
    }

    /** Told after each window: how many are done, of how many, and the tokens scored so far. */
    public interface Progress {
        void windowDone(int done, int total, long tokens, double seconds);
    }

    private Perplexity() {}

    /**
     * Scores {@code text} (ids without special tokens) window by window: each call gets {@code bos} + the window's text
     * tokens, through the KV cache {@code chunk} tokens per call; a token's negative log-likelihood is computed in
     * double from the logits of the position before it.
     */
    public static Result score(CausalLm lm, long[] text, long[] bos, List<ScoringWindows.Window> windows, int chunk, Progress progress) {
        double nll = 0;
        long tokens = 0;
        long t0 = System.nanoTime();
        int done = 0;
        for (ScoringWindows.Window w : windows) {
            long[] ids = new long[bos.length + w.end() - w.start()];
            System.arraycopy(bos, 0, ids, 0, bos.length);
            System.arraycopy(text, w.start(), ids, bos.length, w.end() - w.start());
            float[][] logits = lm.logits(ids, chunk);
            for (int t = w.firstScored(); t < w.end(); t++) {
                nll += negativeLogLikelihood(lm, logits[bos.length + t - w.start() - 1], text[t]);
                tokens++;
            }
            done++;
            if (progress != null) progress.windowDone(done, windows.size(), tokens, (System.nanoTime() - t0) / 1e9);
        }
        return new Result(lm.name(), nll, tokens, windows.size(), (System.nanoTime() - t0) / 1e9);
    }

    /** −log softmax(row)[target], in double with the maximum subtracted first. */
    static double negativeLogLikelihood(CausalLm lm, float[] row, long target) {
        if (target < 0 || target >= row.length) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "the tokenizer gives token id " + target + " but " + lm.name()
                    + "'s logits have " + row.length + " entries: is --tokenizer the model's own?");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) max = Math.max(max, v);
        double sum = 0;
        for (float v : row) sum += Math.exp(v - max);
        return max + Math.log(sum) - row[(int) target];
    }
}
