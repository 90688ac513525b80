package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.AttributeProto.AttributeType;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A default-domain node against its op's schema, as ONNX Runtime verifies it on load (onnx's {@code OpSchema::Verify}):
 * the op exists at the model's opset, the input and output counts are in range, a single (non-optional) input or output
 * is not left empty, and every attribute is one the op defines (once), of its
 * type, with the required ones present. An attribute without a declared type passes (old exporters leave it unset).
 */
final class NodeSchemaCheck {
    private NodeSchemaCheck() {}

    /** The node's first defect against the schemas of default-domain opset {@code opset}, or empty. */
    static Optional<String> defect(NodeProto n, int opset) {
        Optional<OpSchemas.Schema> found = OpSchemas.at(n.getOpType(), opset);
        String node = "node '" + Graph.nameOf(n) + "'";
        if (found.isEmpty() && OpSchemas.ORT_DEFAULT_DOMAIN_EXTRAS.contains(n.getOpType())) return Optional.empty();
        if (found.isEmpty()) {
            return Optional.of(node + " uses op '" + n.getOpType() + "', which the default ONNX domain "
                    + (OpSchemas.defines(n.getOpType()) ? "defines only after opset " + opset : "does not define"));
        }
        OpSchemas.Schema s = found.get();
        String op = node + " (" + s.op() + "-" + s.since() + ")";
        Optional<String> inputs = arity(op, "input", n.getInputList(), s.minInputs(), s.maxInputs(), s.inputs());
        if (inputs.isPresent()) return inputs;
        Optional<String> outputs = arity(op, "output", n.getOutputList(), s.minOutputs(), s.maxOutputs(), s.outputs());
        if (outputs.isPresent()) return outputs;
        return attributes(op, n, s.attributes());
    }

    private static Optional<String> arity(String op, String what, List<String> names, int min, int max, List<OpSchemas.Formal> formals) {
        if (names.size() < min || names.size() > max) {
            return Optional.of(op + " has " + names.size() + " " + what + "s, the op takes " + (min == max ? String.valueOf(min)
                    : max == Integer.MAX_VALUE ? min + " or more" : min + ".." + max));
        }
        for (int i = 0; i < names.size(); i++) {
            OpSchemas.Formal f = OpSchemas.Schema.formal(formals, i);
            if (names.get(i).isEmpty() && f != null && f.option() == OpSchemas.Option.SINGLE) {
                return Optional.of(op + " leaves its " + what + " " + i + " empty, which the op requires");
            }
        }
        return Optional.empty();
    }

    private static Optional<String> attributes(String op, NodeProto n, Map<String, OpSchemas.Attribute> defined) {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (AttributeProto a : n.getAttributeList()) {
            if (!seen.add(a.getName())) return Optional.of(op + " gives attribute '" + a.getName() + "' twice");
            OpSchemas.Attribute expected = defined.get(a.getName());
            if (expected == null && a.getName().startsWith("__")) continue; // onnx's internal symbols pass unchecked
            if (expected == null) return Optional.of(op + " has attribute '" + a.getName() + "', which the op does not define");
            if (a.getType() != AttributeType.UNDEFINED && a.getType() != expected.type() && a.getRefAttrName().isEmpty()) {
                return Optional.of(op + " gives attribute '" + a.getName() + "' as " + a.getType() + ", the op takes " + expected.type());
            }
        }
        for (Map.Entry<String, OpSchemas.Attribute> e : defined.entrySet()) {
            if (e.getValue().required() && n.getAttributeList().stream().noneMatch(a -> a.getName().equals(e.getKey()))) {
                return Optional.of(op + " lacks the required attribute '" + e.getKey() + "'");
            }
        }
        return Optional.empty();
    }
}
