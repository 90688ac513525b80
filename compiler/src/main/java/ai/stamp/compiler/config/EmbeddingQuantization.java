package ai.stamp.compiler.config;

/**
 * Embedding tables ({@code Gather} of a constant float table along axis 0) quantized to int8 per row.
 *
 * @param enabled {@code --quantize-embeddings}; off by default
 */
public record EmbeddingQuantization(boolean enabled) {
    /** Embedding tables left as they are. */
    public static final EmbeddingQuantization OFF = new EmbeddingQuantization(false);
}
