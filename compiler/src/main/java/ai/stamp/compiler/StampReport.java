package ai.stamp.compiler;

import ai.stamp.compiler.passes.linear.WeightPlan;
import com.google.gson.GsonBuilder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What one run of the pass did (or, from a plan, will do): each linear layer it rewrites, each MatMul/Gemm it
 * leaves alone and why, each embedding table quantized to int8 and each Gather of a constant table left alone (with
 * {@code --quantize-embeddings}), and the inserted functions with their call counts (empty for a plan that was not
 * emitted), and the initializers nothing read any more after the rewrite, removed with the bytes they freed (empty
 * for a plan). Serialised as the {@code --report} JSON (schema documented in docs/cli.md#report-schemas); {@link #summary()} is the
 * line the CLI prints.
 *
 * @param config              the config, as {@link StampConfig#toString()}
 * @param opset               the model's default-domain opset
 * @param rewritten           the linear layers rewritten, in graph order
 * @param skipped             the MatMul/Gemm nodes left alone, with why
 * @param embeddings          the Gathers that now read an int8 table
 * @param skippedEmbeddings   the Gathers of a constant table left alone, with why
 * @param insertedFunctions   the {@code ai.stamp} functions inserted, with how many nodes call each
 * @param removedInitializers the initializers the rewrite left unread, removed
 * @param decoder             for a decoder with a KV cache, its effective bits; else null
 */
public record StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, List<Embedding> embeddings,
                          List<Skipped> skippedEmbeddings, Map<String, Integer> insertedFunctions, List<RemovedInitializer> removedInitializers,
                          Decoder decoder) {

    /**
     * A report of a model that is not a decoder with a KV cache ({@code decoder} null, absent from the JSON).
     *
     * @param config              the config, as {@link StampConfig#toString()}
     * @param opset               the model's default-domain opset
     * @param rewritten           the linear layers rewritten
     * @param skipped             the MatMul/Gemm nodes left alone
     * @param embeddings          the Gathers that now read an int8 table
     * @param skippedEmbeddings   the Gathers of a constant table left alone
     * @param insertedFunctions   the functions inserted and their call counts
     * @param removedInitializers the initializers removed
     */
    public StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, List<Embedding> embeddings,
                       List<Skipped> skippedEmbeddings, Map<String, Integer> insertedFunctions, List<RemovedInitializer> removedInitializers) {
        this(config, opset, rewritten, skipped, embeddings, skippedEmbeddings, insertedFunctions, removedInitializers, null);
    }

    /**
     * A report without removed initializers (a plan, before emission).
     *
     * @param config            the config, as {@link StampConfig#toString()}
     * @param opset             the model's default-domain opset
     * @param rewritten         the linear layers rewritten
     * @param skipped           the MatMul/Gemm nodes left alone
     * @param embeddings        the Gathers that now read an int8 table
     * @param skippedEmbeddings the Gathers of a constant table left alone
     * @param insertedFunctions the functions inserted and their call counts
     */
    public StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, List<Embedding> embeddings,
                       List<Skipped> skippedEmbeddings, Map<String, Integer> insertedFunctions) {
        this(config, opset, rewritten, skipped, embeddings, skippedEmbeddings, insertedFunctions, List.of());
    }

    /**
     * A report without embedding tables ({@code --quantize-embeddings} off).
     *
     * @param config            the config, as {@link StampConfig#toString()}
     * @param opset             the model's default-domain opset
     * @param rewritten         the linear layers rewritten
     * @param skipped           the MatMul/Gemm nodes left alone
     * @param insertedFunctions the functions inserted and their call counts
     */
    public StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, Map<String, Integer> insertedFunctions) {
        this(config, opset, rewritten, skipped, List.of(), List.of(), insertedFunctions);
    }

    /** A rewritten linear layer. {@code output} is the tensor whose values the layer still produces. */
    public record Layer(String name, String opType, String graph, String input, String output,
                        List<Long> weightShape, String transform, String grid, String detail) {}

    /**
     * A MatMul/Gemm (or integer matmul) that was not rewritten: the refusal's code (e.g. "runtime-operand",
     * "already-quantized"; the codes are the README's) and its reason.
     */
    public record Skipped(String name, String opType, String graph, String code, String reason) {}

    /**
     * A Gather of a constant table that now reads it as int8 with one scale per row ({@code --quantize-embeddings}).
     * {@code output} keeps its name and shape; {@code floatTableKept}: the float table stays because something else
     * reads it too ({@code detail} says what).
     */
    public record Embedding(String name, String graph, String table, String output, List<Long> shape, boolean floatTableKept, String detail) {}

    /**
     * A decoder with a KV cache: where the past length P comes from, and the effective activation bits (mean bits per
     * quantized token over the rewritten layers) of a prefill and of a decode step, which differ because the sink is a
     * position and a chunk shorter than one transform block is not transformed (see docs/cli.md#decoders-and-the-kv-cache).
     */
    public record Decoder(String pastLength, List<ChunkBits> effectiveBits, KvCache kvCache) {
        /**
         * A decoder whose KV cache is not quantized.
         *
         * @param pastLength    where the past length comes from
         * @param effectiveBits the effective bits per chunk
         */
        public Decoder(String pastLength, List<ChunkBits> effectiveBits) { this(pastLength, effectiveBits, null); }

        /**
         * {@return this decoder with its quantized KV cache}
         *
         * @param kv the cache
         */
        public Decoder withKvCache(KvCache kv) { return new Decoder(pastLength, effectiveBits, kv); }
    }

    /**
     * {@code --kv-bits}: the cache tensors quantized ({@code graph:tensor}), the ones left alone (with why), and per cache
     * length the quantized tokens (sink + completed blocks), their mean bits, and the open block's tokens kept in float.
     */
    public record KvCache(String mode, int hiBits, int loBits, List<String> tensors, List<String> skipped, List<KvBits> effectiveBits) {}

    /** A cache of {@code cacheTokens}: {@code quantizedTokens} at {@code averageBits} mean bits, {@code floatTokens} in float. */
    public record KvBits(int cacheTokens, int quantizedTokens, double averageBits, int floatTokens) {}

    /** Mean activation bits per quantized token of one chunk of {@code tokens} tokens after {@code past} cached ones. */
    public record ChunkBits(String phase, int tokens, long past, double averageBits) {}

    /** An initializer nothing read any more, removed by the last pass, and the bytes of its data. */
    public record RemovedInitializer(String graph, String name, long bytes) {}

    /** {@return the bytes the removed initializers held} */
    public long freedBytes() { return removedInitializers.stream().mapToLong(RemovedInitializer::bytes).sum(); }

    /** {@return the distinct tables quantized (several Gathers may read one; tensor names are unique across a model's graphs)} */
    public long embeddingTables() { return embeddings.stream().map(Embedding::table).distinct().count(); }

    /**
     * One line: what the CLI prints after a rewrite. E.g. "36 linear layer(s) rewritten (36 MatMul), 12 MatMul/Gemm
     * skipped: 12 × runtime-operand (second operand is computed at run time ...)"; then, when a configured weight method
     * left some of the rewritten layers' weights as they were, ", 3 weight(s) left float: weight is ..." (the reasons of
     * the layers' details, grouped); then, when embedding tables were looked at, "; 3 embedding table(s) quantized to
     * int8 (4 Gather), 1 Gather skipped: 1 × excluded (...)"; then the unused initializers removed and the MiB they freed.
     * Quoted names are left out of the grouped reasons; groups beyond the first few are counted.
     *
     * @return the summary, without a trailing newline
     */
    public String summary() {
        StampReport report = this;
        Map<String, Long> rewritten = report.rewritten().stream()
                .collect(Collectors.groupingBy(StampReport.Layer::opType, LinkedHashMap::new, Collectors.counting()));
        Map<String, List<StampReport.Skipped>> byCode = report.skipped().stream()
                .collect(Collectors.groupingBy(StampReport.Skipped::code, LinkedHashMap::new, Collectors.toList()));
        StringBuilder sb = new StringBuilder();
        sb.append(report.rewritten().size()).append(" linear layer(s) rewritten");
        if (!rewritten.isEmpty()) {
            sb.append(" (").append(rewritten.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "))).append(')');
        }
        sb.append(", ").append(report.skipped().size()).append(" MatMul/Gemm skipped");
        if (!byCode.isEmpty()) {
            sb.append(": ").append(byCode.entrySet().stream().limit(4)
                    .map(e -> e.getValue().size() + " × " + e.getKey() + " (" + withoutNames(e.getValue().get(0).reason()) + ")")
                    .collect(Collectors.joining("; ")));
            if (byCode.size() > 4) sb.append("; ").append(byCode.size() - 4).append(" other reason(s), see --report or inspect");
        }
        List<String> leftFloat = report.rewritten().stream().map(l -> WeightPlan.skipReason(l.detail())).flatMap(Optional::stream)
                .map(StampReport::withoutNames).toList();
        if (!leftFloat.isEmpty()) {
            Map<String, Long> byReason = leftFloat.stream().collect(Collectors.groupingBy(r -> r, LinkedHashMap::new, Collectors.counting()));
            sb.append(", ").append(leftFloat.size()).append(" weight(s) left float: ");
            if (byReason.size() == 1) {
                sb.append(leftFloat.get(0));
            } else {
                sb.append(byReason.entrySet().stream().limit(3).map(e -> e.getValue() + " × " + e.getKey()).collect(Collectors.joining("; ")));
                if (byReason.size() > 3) sb.append("; ").append(byReason.size() - 3).append(" other reason(s), see --report");
            }
        }
        if (!report.embeddings().isEmpty() || !report.skippedEmbeddings().isEmpty()) sb.append("; ").append(embeddingSummary(report));
        if (!report.removedInitializers().isEmpty()) {
            sb.append("; ").append(report.removedInitializers().size()).append(" unused initializer(s) removed (")
                    .append(String.format(Locale.ROOT, "%.2f MiB", report.freedBytes() / (1024.0 * 1024.0))).append(')');
        }
        return sb.toString();
    }

    /** "3 embedding table(s) quantized to int8 (4 Gather; 1 float table kept for other readers), 1 Gather skipped: 1 × excluded (...)". */
    private static String embeddingSummary(StampReport report) {
        StringBuilder sb = new StringBuilder();
        long tables = report.embeddingTables();
        sb.append(tables).append(" embedding table(s) quantized to int8");
        List<String> notes = new java.util.ArrayList<>();
        if (report.embeddings().size() != tables) notes.add(report.embeddings().size() + " Gather");
        long kept = report.embeddings().stream().filter(StampReport.Embedding::floatTableKept).map(StampReport.Embedding::table).distinct().count();
        if (kept > 0) notes.add(kept + " float table(s) kept for other readers");
        if (!notes.isEmpty()) sb.append(" (").append(String.join("; ", notes)).append(')');
        if (!report.skippedEmbeddings().isEmpty()) {
            Map<String, List<StampReport.Skipped>> byCode = report.skippedEmbeddings().stream()
                    .collect(Collectors.groupingBy(StampReport.Skipped::code, LinkedHashMap::new, Collectors.toList()));
            sb.append(", ").append(report.skippedEmbeddings().size()).append(" Gather skipped: ").append(byCode.entrySet().stream().limit(4)
                    .map(e -> e.getValue().size() + " × " + e.getKey() + " (" + withoutNames(e.getValue().get(0).reason()) + ")")
                    .collect(Collectors.joining("; ")));
            if (byCode.size() > 4) sb.append("; ").append(byCode.size() - 4).append(" other reason(s), see --report or inspect");
        }
        return sb.toString();
    }

    /**
     * A reason with its quoted tensor and node names left out, as the text of its group: "second operand 'x' is computed
     * at run time" becomes "second operand is computed at run time", "computed from 'y', which" becomes "computed from a
     * tensor, which". (No "'…'" placeholder: it reads as text cut off.)
     */
    static String withoutNames(String reason) {
        String names = "'[^']*'(?:/'[^']*')*";
        return reason.replaceAll("\\b(from|of|reading|for|by|with) " + names, "$1 a tensor")
                .replaceAll(" ?" + names, "")
                .replaceAll(" {2,}", " ")
                .strip();
    }

    /** {@return the {@code --report} JSON, pretty-printed} */
    public String toJson() {
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(this);
    }
}
