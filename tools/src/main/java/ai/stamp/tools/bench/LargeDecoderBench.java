package ai.stamp.tools.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The decoder half of the large-model benchmark: a generated Llama-shaped causal LM ({@link LlamaDecoderGenerator}:
 * d 4096, 32 heads / 8 KV heads, ffn 11008, at least {@code gib} GiB of external float32 weights, random, never kept)
 * rewritten by the CLI in a child JVM limited to {@code -Xmx} with the defaults plus {@code --kv-bits 4}, then
 * {@code perplexity} on the rewritten model in a child JVM with the same heap limit (its figure is meaningless with
 * random weights; that it runs, and what it costs, is the point). Wall time, peak heap and peak RSS per step.
 *
 * <p>Usage: {@code LargeDecoderBench [--gb G (3)] [--xmx 256m] [--work DIR] [--keep]}.
 */
public final class LargeDecoderBench {
    /** All figures of one run. */
    public record Result(LlamaDecoderGenerator.Spec spec, long inputDataBytes, double generateSeconds, LargeModelBench.Measurement rewrite,
                         LargeModelBench.Measurement perplexity) {
        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "decoder: d=%d, %d layers, %d heads / %d KV heads, ffn %d, vocab %d, %.0f MiB external float32 weights"
                            + " (generated in %.1f s)%n", spec.d(), spec.layers(), spec.heads(), spec.kvHeads(), spec.ffn(), spec.vocab(),
                    inputDataBytes / (double) (1 << 20), generateSeconds));
            sb.append(rewrite.row()).append('\n').append(perplexity.row()).append('\n');
            return sb.toString();
        }
    }

    private LargeDecoderBench() {}

    public static void main(String[] args) {
        System.out.print(run(LargeModelBench.Options.parse(args, "LargeDecoderBench")).table());
    }

    public static Result run(LargeModelBench.Options options) {
        try {
            Path work = options.work() != null ? Files.createDirectories(options.work()) : Files.createTempDirectory("stamp-large-decoder");
            Path model = work.resolve("llama.onnx"), out = work.resolve("llama-stamp.onnx");
            try {
                LlamaDecoderGenerator.Spec spec = LlamaDecoderGenerator.Spec.llamaShaped(options.gib(), 512, 42);
                long t0 = System.nanoTime();
                LargeModelGenerator.Generated g = LlamaDecoderGenerator.generate(model, spec);
                double gen = (System.nanoTime() - t0) / 1e9;
                LargeModelBench.Measurement rewrite = LargeModelBench.stamp("stamp defaults --kv-bits 4", model, out, options.xmx(), "--kv-bits", "4");
                Path text = work.resolve("text.txt");
                Files.writeString(text, "The quick brown fox jumps over the lazy dog. ".repeat(8), StandardCharsets.UTF_8);
                Path tokenizer = work.resolve("tokenizer.json");
                Files.writeString(tokenizer, ByteTokenizer.json(spec.vocab()), StandardCharsets.UTF_8);
                LargeModelBench.Measurement ppl = LargeModelBench.cli("perplexity (64-token windows)", options.xmx(), out,
                        "perplexity", out.toString(), "--text", text.toString(), "--tokenizer", tokenizer.toString(), "--window", "64", "-q");
                return new Result(spec, g.dataBytes(), gen, rewrite, ppl);
            } finally {
                if (!options.keep()) {
                    for (Path p : List.of(model, model.resolveSibling("llama.onnx.data"), out, out.resolveSibling("llama-stamp.onnx.data"),
                            work.resolve("text.txt"), work.resolve("tokenizer.json"))) {
                        Files.deleteIfExists(p);
                    }
                    if (options.work() == null) Files.deleteIfExists(work);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A byte-level tokenizer.json (one token per byte value below the vocabulary, id 0 = BOS) for the random model. */
    static final class ByteTokenizer {
        private ByteTokenizer() {}

        static String json(int vocab) {
            StringBuilder v = new StringBuilder("\"<s>\": 0");
            for (int c = 32; c < 127 && c < vocab; c++) {
                String tok = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : String.valueOf((char) c);
                v.append(", \"").append(tok).append("\": ").append(c - 31);
            }
            return "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, "
                    + "\"rstrip\": false, \"normalized\": false, \"special\": true}], \"normalizer\": null, \"pre_tokenizer\": null, "
                    + "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, "
                    + "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], "
                    + "\"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [0], \"tokens\": [\"<s>\"]}}}, \"decoder\": null, "
                    + "\"model\": {\"type\": \"WordLevel\", \"vocab\": {" + v + "}, \"unk_token\": \"<s>\"}}";
        }
    }
}
