package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.ModelEditor;

/**
 * A decoder's chunk context for one emission: the past length P, computed once at the top of the main graph the
 * first time a layer asks for it (so the branches of a merged decoder's If read the same outer-scope value).
 */
final class DecoderChunks {
    static final String MAKER = "linear-layer/past-length";

    private final PastLength source;
    private final Graph main;
    private String tensor;

    DecoderChunks(PastLength source, Graph main) {
        this.source = source;
        this.main = main;
    }

    PastLength source() { return source; }

    /** The 1-element int64 P tensor, emitted into the main graph on the first call. */
    String pastTensor(ModelEditor editor) {
        if (tensor == null) {
            GraphEditor edit = editor.graph(main, MAKER);
            tensor = edit.fresh("stamp_past_length");
            edit.prepend(source.emit(edit, tensor));
        }
        return tensor;
    }
}
