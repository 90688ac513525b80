package ai.stamp.compiler;

/**
 * Keys the pass writes into ModelProto.metadata_props so that tools (validate, inspect) can find what
 * was rewritten without the report file.
 */
public final class StampMetadata {
    /** JSON array of {"name": node name, "output": tensor name} for every rewritten layer. */
    public static final String LAYERS = "ai.stamp.layers";
    /** The StampConfig the model was rewritten with, as {@link StampConfig#toString()}. */
    public static final String CONFIG = "ai.stamp.config";

    private StampMetadata() {}
}
