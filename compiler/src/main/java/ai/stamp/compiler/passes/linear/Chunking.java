package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.rewrite.ModelEditor;
import java.util.Optional;

/**
 * Whether a layer's sequence ops are the decoder chunk ops (sink as a position, short chunks untransformed; see
 * {@link ai.stamp.ops.ChunkGeometry}) and which tensor holds the past length they read. Encoders (no KV cache in the
 * graph inputs) and 2D token grids keep the fixed-sink ops.
 */
final class Chunking {
    private final DecoderChunks decoder;
    private final ModelEditor editor;

    private Chunking(DecoderChunks decoder, ModelEditor editor) {
        this.decoder = decoder;
        this.editor = editor;
    }

    /** The fixed-sink ops everywhere (an encoder). */
    static final Chunking NONE = new Chunking(null, null);

    static Chunking of(Optional<DecoderChunks> decoder, ModelEditor editor) { return new Chunking(decoder.orElse(null), editor); }

    boolean applies(TokenPlan plan) { return decoder != null && !plan.transformed().is2d(); }

    /** The past length tensor (emitted into the main graph on first use). */
    String past() { return decoder.pastTensor(editor); }
}
