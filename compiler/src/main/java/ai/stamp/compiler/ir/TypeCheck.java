package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Element types through a graph, checked as ONNX Runtime checks them when it loads a model: the inputs a default-domain
 * node binds to one type parameter have one type, that type is one the parameter allows, and an output whose type the
 * inputs determine agrees with the type the graph declares for it (value_info, graph outputs). Only tensor types known
 * for certain take part (graph inputs, initializers, declarations, Cast's {@code to}, Constant's value, outputs bound
 * to an input's parameter or to a parameter that allows one type); a type the check cannot know is left to ORT, and so
 * are shapes (ORT's shape inference refuses some models this check passes).
 */
final class TypeCheck {
    private final int opset;
    private final Map<String, Integer> known;
    private final Map<String, Integer> declared = new HashMap<>();

    private TypeCheck(int opset, Map<String, Integer> outer) {
        this.opset = opset;
        this.known = new HashMap<>(outer);
    }

    /**
     * The first type defect of {@code g}, whose nodes come in {@code order} (producers first), with {@code outer} the
     * element types its enclosing graphs define; {@code types} receives the types known in {@code g} (for its bodies).
     */
    static Optional<String> defect(OnnxMl.GraphProto g, List<NodeProto> order, int opset, Map<String, Integer> outer,
                                   Map<String, Integer> types) {
        TypeCheck c = new TypeCheck(opset, outer);
        for (OnnxMl.ValueInfoProto v : g.getInputList()) c.declare(v, true);
        for (OnnxMl.TensorProto t : g.getInitializerList()) if (t.getDataType() != 0) c.known.put(t.getName(), t.getDataType());
        for (OnnxMl.ValueInfoProto v : g.getValueInfoList()) c.declare(v, false);
        for (OnnxMl.ValueInfoProto v : g.getOutputList()) c.declare(v, false);
        for (NodeProto n : order) {
            Optional<String> d = c.node(n);
            if (d.isPresent()) return d;
        }
        types.putAll(c.known);
        return Optional.empty();
    }

    private void declare(OnnxMl.ValueInfoProto v, boolean input) {
        if (!v.getType().hasTensorType() || v.getType().getTensorType().getElemType() == 0) return;
        int type = v.getType().getTensorType().getElemType();
        if (input) known.put(v.getName(), type);
        else declared.put(v.getName(), type);
    }

    private Optional<String> node(NodeProto n) {
        Optional<OpSchemas.Schema> schema = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx")
                ? OpSchemas.at(n.getOpType(), opset) : Optional.empty();
        Map<String, Integer> bound = new HashMap<>();
        if (schema.isPresent()) {
            OpSchemas.Schema s = schema.get();
            for (int i = 0; i < n.getInputCount(); i++) {
                Integer type = known.get(n.getInput(i));
                OpSchemas.Formal f = OpSchemas.Schema.formal(s.inputs(), i);
                if (type == null || f == null || f.option() == OpSchemas.Option.HETEROGENEOUS_VARIADIC) continue;
                Optional<String> d = bind(n, s, f.typeStr(), type, n.getInput(i), bound);
                if (d.isPresent()) return d;
            }
        }
        for (int i = 0; i < n.getOutputCount(); i++) {
            String out = n.getOutput(i);
            if (out.isEmpty()) continue;
            Integer inferred = schema.isPresent() ? outputType(n, schema.get(), i, bound) : null;
            Integer decl = declared.get(out);
            boolean constant = schema.isPresent() && schema.get().op().equals("Constant"); // an initializer to ORT: its value's type wins
            if (inferred != null && decl != null && !inferred.equals(decl) && !constant) {
                return Optional.of("node '" + Graph.nameOf(n) + "' (" + n.getOpType() + ") makes '" + out + "' a " + name(inferred)
                        + ", and the graph declares it " + name(decl));
            }
            Integer type = inferred != null ? inferred : decl;
            if (type != null) known.put(out, type);
        }
        return Optional.empty();
    }

    /** Binds {@code typeStr} (a type parameter or a fixed type) to {@code type}, or says why the input cannot take it. */
    private static Optional<String> bind(NodeProto n, OpSchemas.Schema s, String typeStr, int type, String input, Map<String, Integer> bound) {
        Set<String> allowed = s.constraints().get(typeStr);
        String node = "node '" + Graph.nameOf(n) + "' (" + n.getOpType() + ")";
        if (allowed == null) {
            if (typeStr.startsWith("tensor(") && !typeStr.equals(name(type))) {
                return Optional.of(node + " reads '" + input + "' as " + typeStr + ", and it is a " + name(type));
            }
            return Optional.empty();
        }
        if (!allowed.contains(name(type))) {
            return Optional.of(node + " reads '" + input + "', a " + name(type) + ", which its type parameter " + typeStr + " does not allow");
        }
        Integer before = bound.putIfAbsent(typeStr, type);
        if (before != null && before != type) {
            return Optional.of(node + " binds its type parameter " + typeStr + " to " + name(before) + " and to " + name(type)
                    + " ('" + input + "'): its inputs need one element type");
        }
        return Optional.empty();
    }

    /** The element type output {@code i} has for certain, or null. */
    private static Integer outputType(NodeProto n, OpSchemas.Schema s, int i, Map<String, Integer> bound) {
        if (s.op().equals("Cast")) { // the output's type parameter is bound by the attribute
            for (OnnxMl.AttributeProto a : n.getAttributeList()) if (a.getName().equals("to") && a.getI() > 0) return (int) a.getI();
            return null;
        }
        if (s.op().equals("Constant")) {
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                switch (a.getName()) {
                    case "value": return a.hasT() && a.getT().getDataType() != 0 ? a.getT().getDataType() : null;
                    case "value_float", "value_floats": return DataType.FLOAT_VALUE;
                    case "value_int", "value_ints": return DataType.INT64_VALUE;
                    case "value_string", "value_strings": return DataType.STRING_VALUE;
                    default: break;
                }
            }
            return null;
        }
        OpSchemas.Formal f = OpSchemas.Schema.formal(s.outputs(), i);
        if (f == null || f.option() == OpSchemas.Option.HETEROGENEOUS_VARIADIC) return null;
        Set<String> allowed = s.constraints().get(f.typeStr());
        if (allowed == null) return fixedType(f.typeStr());
        if (bound.containsKey(f.typeStr())) return bound.get(f.typeStr());
        return allowed.size() == 1 ? fixedType(allowed.iterator().next()) : null; // e.g. MatMulInteger's int32 T3
    }

    /** Element type by ONNX type string ({@code tensor(float)} → FLOAT), for every defined element type. */
    private static final Map<String, Integer> BY_TYPE_STRING = byTypeString();

    private static Map<String, Integer> byTypeString() {
        Map<String, Integer> m = new HashMap<>();
        for (DataType t : DataType.values()) if (t != DataType.UNDEFINED) m.put(name(t.getNumber()), t.getNumber());
        return Map.copyOf(m);
    }

    private static Integer fixedType(String typeStr) { return BY_TYPE_STRING.get(typeStr); }

    /** ONNX's type string of a tensor element type, e.g. {@code tensor(float)}. */
    static String name(int elemType) {
        DataType t = DataType.forNumber(elemType);
        if (t == null || t == DataType.UNDEFINED) return "tensor(undefined:" + elemType + ")";
        String n = switch (t) {
            case FLOAT -> "float";
            case DOUBLE -> "double";
            default -> t.name().toLowerCase(java.util.Locale.ROOT);
        };
        return "tensor(" + n + ")";
    }
}
