package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import java.nio.file.Path;
import java.util.List;

/**
 * A text tokenized for perplexity: its ids (no special tokens), the tokenizer's BOS that starts every window, and the
 * sliding windows that score every token once ({@link ScoringWindows}). Shared by {@code perplexity} and
 * {@code table --perplexity}, so both score exactly the same tokens.
 */
public record ScoredText(String name, long[] ids, BosToken bos, int window, int stride, List<ScoringWindows.Window> windows) {
    /** Default window when no model declares a smaller context (stories260K's; a small, fast window on CPU). */
    public static final int DEFAULT_WINDOW = 512;

    /**
     * Tokenizes {@code content} ({@code text} names it) with {@code tokenizer} and plans windows of {@code window}
     * tokens, {@code stride} text tokens apart (null: the largest that leaves no token unscored). BAD_OPTION when no
     * token can be scored.
     */
    public static ScoredText of(Path text, String content, Path tokenizer, int window, Integer stride) {
        long[] ids;
        BosToken bos;
        try (TokenWindows tw = TokenWindows.load(tokenizer)) {
            ids = tw.encode(content);
            bos = BosToken.of(tw, tokenizer);
        }
        int str = stride != null ? stride : ScoringWindows.maxStride(window, bos.ids().length);
        List<ScoringWindows.Window> windows = ScoringWindows.plan(ids.length, window, str, bos.ids().length);
        if (ScoringWindows.scored(windows) == 0) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--text " + text + " gives " + ids.length + " token(s), none of which can be scored"
                    + (bos.present() ? "" : " (without a BOS the first token is context only)") + ": give a longer text");
        }
        return new ScoredText(text.getFileName().toString(), ids, bos, window, str, List.copyOf(windows));
    }

    /** {@code given} (--tokenizer), else the tokenizer beside {@code model}; INPUT_MISSING when there is none. */
    public static Path tokenizer(Path given, Path model) {
        if (given != null) return given;
        Path tok = TokenWindows.findBeside(model);
        if (tok == null) {
            Path m = model.toAbsolutePath();
            String stem = m.getFileName().toString().replaceFirst("\\.onnx$", "");
            throw new StampException(StampException.Kind.INPUT_MISSING, "no tokenizer for " + m.getFileName() + ": looked for " + stem
                    + "-tokenizer.json and tokenizer.json in " + m.getParent() + "; --tokenizer FILE sets it");
        }
        return tok;
    }

    /** How many tokens the windows score. */
    public long scored() { return ScoringWindows.scored(windows); }

    /** Scores {@code lm} on this text, each window in one prefill call. */
    public Perplexity.Result score(CausalLm lm, Perplexity.Progress progress) {
        return Perplexity.score(lm, ids, bos.ids(), windows, window, progress);
    }

    /**
     * {@code requested} (null: {@link #DEFAULT_WINDOW}), checked against the declared context of every model (BAD_OPTION
     * when a requested window exceeds one); the default is capped by them.
     */
    public static int window(Integer requested, List<CausalLm> lms) {
        int win = requested != null ? requested : DEFAULT_WINDOW;
        for (CausalLm lm : lms) {
            if (lm.contextLimit() <= 0 || lm.contextLimit() >= win) continue;
            if (requested != null) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--window " + requested + " exceeds the " + lm.contextLimit()
                        + "-token context of " + lm.name() + " (" + lm.contextSource() + ")");
            }
            win = lm.contextLimit();
        }
        return win;
    }
}
