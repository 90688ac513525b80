package ai.stamp.compiler;

import ai.onnx.proto.OnnxMl;

/**
 * The public entry point: rewrites every linear layer of a model with STaMP as {@code config} says.
 * The input proto is not modified (protos are immutable); the result holds the new model and a report.
 */
public final class StampCompiler {
    private StampCompiler() {}

    public static StampResult compile(OnnxMl.ModelProto model, StampConfig config) {
        throw new UnsupportedOperationException("being written");
    }
}
