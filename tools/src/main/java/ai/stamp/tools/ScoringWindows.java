package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import java.util.ArrayList;
import java.util.List;

/**
 * The sliding windows of a perplexity run over a tokenized text, as Hugging Face's perplexity guide lays them out:
 * window k covers text tokens [k·stride, k·stride + capacity), after the tokenizer's BOS prefix, and scores only the
 * tokens no earlier window scored, so with stride < capacity every scored token gets more context and none is
 * scored twice. A token is scored from the logits of the position before it, so without a BOS the first token of a
 * window is context only; with a BOS every text token of the first window is scored and BOS itself never is.
 */
public final class ScoringWindows {
    /** Text tokens [start, end) go into one model call; [firstScored, end) are scored. */
    public record Window(int start, int end, int firstScored) {
        public int scored() { return end - firstScored; }
    }

    private ScoringWindows() {}

    /**
     * The largest stride that leaves no token unscored: a window of {@code window} model tokens holds
     * {@code window − prefix} text tokens, of which the first is context only when there is no prefix.
     */
    public static int maxStride(int window, int prefix) { return window - Math.max(prefix, 1); }

    /**
     * The windows over {@code tokens} text tokens for model calls of {@code window} tokens ({@code prefix} of them
     * the BOS prefix), starting {@code stride} text tokens apart. BAD_OPTION when the window has no room for a scored
     * token or the stride would skip tokens.
     */
    public static List<Window> plan(int tokens, int window, int stride, int prefix) {
        int max = maxStride(window, prefix);
        if (max < 1) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--window " + window + " leaves no token to score beside "
                    + (prefix > 0 ? prefix + " BOS token(s)" : "the first token, which is context only without a BOS"));
        }
        if (stride < 1 || stride > max) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--stride must be in 1.." + max + " for --window " + window
                    + " (a larger stride would leave tokens unscored), got " + stride);
        }
        int capacity = window - prefix;
        int contextOnly = prefix > 0 ? 0 : 1;
        List<Window> out = new ArrayList<>();
        int scoredUpTo = 0;
        for (int start = 0; start < tokens; start += stride) {
            int end = Math.min(start + capacity, tokens);
            int first = Math.max(start + contextOnly, scoredUpTo);
            if (end > first) out.add(new Window(start, end, first));
            scoredUpTo = end;
            if (end == tokens) break;
        }
        return out;
    }

    /** How many tokens {@code windows} score in all. */
    public static long scored(List<Window> windows) {
        long n = 0;
        for (Window w : windows) n += w.scored();
        return n;
    }
}
