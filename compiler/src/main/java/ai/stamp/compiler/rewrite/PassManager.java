package ai.stamp.compiler.rewrite;

import ai.onnx.proto.OnnxMl;

/** Runs passes in order through one {@link ModelEditor}: plan on the committed model, rewrite, commit. */
public final class PassManager {
    private final ModelEditor editor;

    public PassManager(ModelEditor editor) { this.editor = editor; }

    /** Plans and rewrites {@code pass} on the current model; returns the model it committed. */
    public <P> OnnxMl.ModelProto run(Pass<P> pass) {
        P plan = pass.plan(editor.current());
        return apply(pass, plan);
    }

    /** Carries out a plan {@code pass} made of the current model (for callers that inspect plans first); commits. */
    public <P> OnnxMl.ModelProto apply(Pass<P> pass, P plan) {
        pass.rewrite(plan, editor);
        return editor.commit();
    }

    public ModelEditor editor() { return editor; }
}
