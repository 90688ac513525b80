package ai.stamp.compiler.rewrite;

import ai.onnx.proto.OnnxMl;

/**
 * One step of the compile. {@link #plan} reads the model and decides everything (it never mutates); {@link #rewrite}
 * carries the plan out through the editor. The {@link PassManager} runs passes in order, each on the model the
 * previous one committed.
 *
 * @param <P> the pass's immutable plan of the whole model
 */
public interface Pass<P> {
    String name();

    P plan(OnnxMl.ModelProto model);

    void rewrite(P plan, ModelEditor editor);
}
