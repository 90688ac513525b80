package ai.stamp.compiler;

import ai.stamp.compiler.rewrite.Refusal;
import com.google.gson.GsonBuilder;
import java.util.List;
import java.util.Map;

/**
 * What one run of the pass did (or, from a plan, will do): each linear layer it rewrites, each MatMul/Gemm it
 * leaves alone and why, each embedding table quantized to int8 and each Gather of a constant table left alone (with
 * {@code --quantize-embeddings}), and the inserted functions with their call counts (empty for a plan that was not
 * emitted), and the initializers nothing read any more after the rewrite, removed with the bytes they freed (empty
 * for a plan). Serialised as the {@code --report} JSON (schema documented in docs/cli.md#report-schemas).
 */
public record StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, List<Embedding> embeddings,
                          List<Skipped> skippedEmbeddings, Map<String, Integer> insertedFunctions, List<RemovedInitializer> removedInitializers,
                          Decoder decoder) {

    /** A report of a model that is not a decoder with a KV cache ({@code decoder} null, absent from the JSON). */
    public StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, List<Embedding> embeddings,
                       List<Skipped> skippedEmbeddings, Map<String, Integer> insertedFunctions, List<RemovedInitializer> removedInitializers) {
        this(config, opset, rewritten, skipped, embeddings, skippedEmbeddings, insertedFunctions, removedInitializers, null);
    }

    /** A report without removed initializers (a plan, before emission). */
    public StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, List<Embedding> embeddings,
                       List<Skipped> skippedEmbeddings, Map<String, Integer> insertedFunctions) {
        this(config, opset, rewritten, skipped, embeddings, skippedEmbeddings, insertedFunctions, List.of());
    }

    /** A report without embedding tables ({@code --quantize-embeddings} off). */
    public StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, Map<String, Integer> insertedFunctions) {
        this(config, opset, rewritten, skipped, List.of(), List.of(), insertedFunctions);
    }

    /** A rewritten linear layer. {@code output} is the tensor whose values the layer still produces. */
    public record Layer(String name, String opType, String graph, String input, String output,
                        List<Long> weightShape, String transform, String grid, String detail) {}

    /**
     * A MatMul/Gemm (or integer matmul) that was not rewritten: the refusal's code (e.g. "runtime-operand",
     * "already-quantized"; see {@link ai.stamp.compiler.rewrite.Refusal.Code}) and its reason.
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
        public Decoder(String pastLength, List<ChunkBits> effectiveBits) { this(pastLength, effectiveBits, null); }

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

    /** Bytes the removed initializers held. */
    public long freedBytes() { return removedInitializers.stream().mapToLong(RemovedInitializer::bytes).sum(); }

    /** The distinct tables quantized (several Gathers may read one; tensor names are unique across a model's graphs). */
    public long embeddingTables() { return embeddings.stream().map(Embedding::table).distinct().count(); }

    public String toJson() {
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(this);
    }
}
