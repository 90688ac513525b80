package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;

/** Outcome of matching one node: a linear layer, or the reason it is not one (surfaced in reports). */
public sealed interface MatchResult {
    record Match(LinearLayer layer) implements MatchResult {}

    record NoMatch(NodeProto node, String reason) implements MatchResult {}
}
