package ai.stamp.compiler;

import ai.onnx.proto.OnnxMl;

/** The rewritten model and the report of what was done to it. */
public record StampResult(OnnxMl.ModelProto model, StampReport report) {}
