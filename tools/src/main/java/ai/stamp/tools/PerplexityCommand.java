package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.ModelFile;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code stamp-onnx perplexity}: next-token perplexity of causal LMs on one text, side by side. */
@Command(name = "perplexity", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Next-token perplexity of one or more causal LMs on a UTF-8 text, side by side.",
        description = {"Tokenizes --text with the first model's tokenizer.json (or --tokenizer) and scores every token",
            "with each MODEL in ONNX Runtime (CPU): perplexity = exp(mean negative log-likelihood, nats per token).",
            "Sliding windows of --window tokens, --stride text tokens apart; with stride < window - 1 each window",
            "scores only the tokens earlier windows did not (Hugging Face's perplexity guide). If the tokenizer defines",
            "a BOS (its post-processor template, else a special added token <s>, <|begin_of_text|>, <bos>, ...), every",
            "window starts with it and BOS is never scored; without one, a window's first token is context only.",
            "--chunk K feeds each window through the KV cache K tokens per call (1 = token-by-token decoding), to",
            "compare incremental decoding with the default single prefill call per window.",
            "Models: int64/int32 input_ids, a rank-3 'logits' output, optionally attention_mask, position_ids,",
            "past key/value inputs (float or float16, matched to 'present' outputs) and use_cache_branch.",
            "Exit codes: 2 bad option or text too short, 3 model, text or tokenizer missing, 4 not ONNX,",
            "6 not a causal LM, 10 ONNX Runtime failure."})
final class PerplexityCommand implements Callable<Integer> {
    static final int DEFAULT_WINDOW = ScoredText.DEFAULT_WINDOW;
    /** Without a terminal, a progress line at most this often, so short runs (and tests) print none. */
    private static final double PROGRESS_LINE_SECONDS = 10;

    @Spec CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "MODEL", description = "Causal LMs (.onnx) to score on the same windows.")
    List<Path> models;

    @Option(names = "--text", paramLabel = "FILE", required = true, description = "UTF-8 text to score.")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "HuggingFace tokenizer.json (default: <model-stem>-tokenizer.json or tokenizer.json beside the first MODEL).")
    Path tokenizer;

    @Option(names = "--window", paramLabel = "N",
            description = "Tokens per window, BOS included (default: " + DEFAULT_WINDOW + ", or the smallest context a MODEL declares).")
    Integer window;

    @Option(names = "--stride", paramLabel = "N",
            description = "Text tokens between window starts (default and maximum: window - 1, so no token goes unscored).")
    Integer stride;

    @Option(names = "--chunk", paramLabel = "K",
            description = "Feed each window through the KV cache K tokens per call (default: the whole window in one call).")
    Integer chunk;

    @Option(names = "--report", paramLabel = "FILE.json", description = "Also write every figure and the settings as JSON.")
    Path report;

    @Option(names = {"-q", "--quiet"}, description = "No progress on stderr.")
    boolean quiet;

    @Override
    public Integer call() {
        if (window != null && window < 2) throw new StampException(StampException.Kind.BAD_OPTION, "--window must be >= 2, got " + window);
        if (chunk != null && chunk < 1) throw new StampException(StampException.Kind.BAD_OPTION, "--chunk must be >= 1, got " + chunk);
        if (report != null) RewriteJob.checkOutputLocation(report);
        String content = EvaluationTextOptions.read(text);
        List<CausalLm> lms = new ArrayList<>();
        try {
            for (Path m : models) lms.add(CausalLm.open(ModelFile.read(m)));
            return run(content, lms);
        } finally {
            for (CausalLm lm : lms) lm.close();
        }
    }

    private int run(String content, List<CausalLm> lms) {
        int win = ScoredText.window(window, lms);
        Path tok = ScoredText.tokenizer(tokenizer, models.get(0));
        ScoredText scoredText = ScoredText.of(text, content, tok, win, stride);
        long[] ids = scoredText.ids();
        BosToken bos = scoredText.bos();
        int str = scoredText.stride();
        List<ScoringWindows.Window> windows = scoredText.windows();
        long scored = scoredText.scored();
        int k = chunk != null ? chunk : win;
        PrintWriter out = spec.commandLine().getOut();
        out.printf("text: %s, %d tokens (%s); %s%s%n", text.getFileName(), ids.length, tok.getFileName(), bos.description(),
                bos.present() ? ", starts every window, never scored" : "");
        out.printf("windows: %d of at most %d tokens, stride %d, %d tokens scored; %s%n", windows.size(), win, str, scored, callsDescription(k, win));
        out.flush();
        List<Perplexity.Result> results = new ArrayList<>();
        for (CausalLm lm : lms) results.add(Perplexity.score(lm, ids, bos.ids(), windows, k, progress(lm.name())));
        out.printf("%-32s %12s %11s %14s %10s %8s%n", "model", "perplexity", "NLL/token", "tokens scored", "tokens/s", "windows");
        for (Perplexity.Result r : results) {
            out.printf(Locale.ROOT, "%-32s %12.4f %11.5f %14d %10.0f %8d%n", r.model(), r.perplexity(), r.meanNll(), r.tokens(), r.tokensPerSecond(), r.windows());
        }
        out.flush();
        if (report != null) RewriteJob.writeText(report, json(tok, bos, ids.length, win, str, k, results));
        return 0;
    }

    private static String callsDescription(int k, int win) {
        if (k >= win) return "prefill (each window in one call)";
        if (k == 1) return "--chunk 1 (token-by-token decoding through the KV cache)";
        return "--chunk " + k + " (" + k + " tokens per call through the KV cache)";
    }

    /** A bar redrawn in place on a terminal; otherwise a plain line at most every 10 s; nothing with --quiet. */
    private Perplexity.Progress progress(String model) {
        if (quiet) return null;
        PrintWriter err = spec.commandLine().getErr();
        boolean terminal = System.console() != null;
        double[] last = {0};
        return (done, total, tokens, seconds) -> {
            String figures = String.format(Locale.ROOT, "%d/%d windows, %d tokens, %.0f tokens/s", done, total, tokens, tokens / Math.max(seconds, 1e-9));
            if (terminal && (seconds - last[0] >= 0.2 || done == total)) {
                last[0] = seconds; // redraw at most 5 times a second; trailing spaces clear a longer previous line
                int width = 30;
                int filled = (int) ((long) done * width / total);
                err.print("\rperplexity: " + model + " [" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + figures + "   " + (done == total ? "\n" : ""));
                err.flush();
            } else if (!terminal && seconds - last[0] >= PROGRESS_LINE_SECONDS && done < total) {
                last[0] = seconds;
                err.println("perplexity: " + model + ": " + figures);
                err.flush();
            }
        };
    }

    private String json(Path tok, BosToken bos, int textTokens, int win, int str, int k, List<Perplexity.Result> results) {
        JsonObject root = new JsonObject();
        JsonObject settings = new JsonObject();
        settings.addProperty("text", text.toString());
        settings.addProperty("textTokens", textTokens);
        settings.addProperty("tokenizer", tok.toString());
        JsonArray bosIds = new JsonArray();
        for (long id : bos.ids()) bosIds.add(id);
        settings.add("bosIds", bosIds);
        settings.addProperty("bos", bos.description());
        settings.addProperty("window", win);
        settings.addProperty("stride", str);
        settings.addProperty("chunk", Math.min(k, win));
        settings.addProperty("calls", callsDescription(k, win));
        root.add("settings", settings);
        JsonArray list = new JsonArray();
        for (int i = 0; i < results.size(); i++) {
            Perplexity.Result r = results.get(i);
            JsonObject o = new JsonObject();
            o.addProperty("model", models.get(i).toString());
            o.addProperty("perplexity", r.perplexity());
            o.addProperty("nllSum", r.nllSum());
            o.addProperty("meanNll", r.meanNll());
            o.addProperty("tokensScored", r.tokens());
            o.addProperty("windows", r.windows());
            o.addProperty("seconds", r.seconds());
            o.addProperty("tokensPerSecond", r.tokensPerSecond());
            list.add(o);
        }
        root.add("models", list);
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(root) + "\n";
    }
}
