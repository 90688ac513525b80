package ai.stamp.tools;

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
     * tokens, through the KV cache {@code chunk} tokens per call; a token's negative log-likelihood comes from
     * {@link CausalLm#nextTokenLogProbs} at the position before it.
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
            double[] logProbs = lm.nextTokenLogProbs(ids, chunk);
            for (int t = w.firstScored(); t < w.end(); t++) {
                nll -= logProbs[bos.length + t - w.start() - 1]; // the position before text token t predicts it
                tokens++;
            }
            done++;
            if (progress != null) progress.windowDone(done, windows.size(), tokens, (System.nanoTime() - t0) / 1e9);
        }
        return new Result(lm.name(), nll, tokens, windows.size(), (System.nanoTime() - t0) / 1e9);
    }
}
