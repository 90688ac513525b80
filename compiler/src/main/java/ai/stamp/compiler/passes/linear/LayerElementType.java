package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.OpSets;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.ops.FloatType;
import java.util.Optional;
import java.util.Set;

/**
 * The element type a MatMul or Gemm computes in (both operands share it), read statically: from the weight (an
 * initializer, a Constant, behind shape-only ops or a Cast, which sets it) and else from the activation (a Cast, a
 * declared type). A MatMul's type decides whether it is a linear layer at all (integers are not) and the type its
 * inserted ops run at ({@link FloatType}).
 */
final class LayerElementType {
    /** Integer MatMuls: index and shape arithmetic, never a layer to quantize (int8/uint8 weights are the detector's). */
    private static final Set<Integer> INTEGER = Set.of(TensorProto.DataType.INT16_VALUE, TensorProto.DataType.UINT16_VALUE,
            TensorProto.DataType.INT32_VALUE, TensorProto.DataType.UINT32_VALUE, TensorProto.DataType.INT64_VALUE, TensorProto.DataType.UINT64_VALUE);
    /** How far back through shape-only ops a type is looked for. */
    private static final int MAX_DEPTH = 16;

    private LayerElementType() {}

    /** The TensorProto.DataType of the product of {@code x} and {@code w}, 0 when neither says. */
    static int of(Graph graph, String x, String w) {
        int t = typeOf(graph, w, 0);
        return t != 0 ? t : typeOf(graph, x, 0);
    }

    /** Whether {@code dataType} is an integer type a MatMul may compute in (not int8/uint8). */
    static boolean isInteger(int dataType) { return INTEGER.contains(dataType); }

    /** The float type of {@code dataType}; an unknown type (0) is float32, as the rewrite has always assumed. */
    static Optional<FloatType> floatType(int dataType) {
        return dataType == 0 ? Optional.of(FloatType.FLOAT) : FloatType.of(dataType);
    }

    private static int typeOf(Graph graph, String tensor, int depth) {
        if (depth > MAX_DEPTH || tensor.isEmpty()) return 0;
        Optional<Graph> holder = graph.definingGraph(tensor);
        Graph g = holder.orElse(graph);
        Optional<TensorProto> init = g.initializer(tensor);
        if (init.isPresent() && g.producer(tensor).isEmpty()) return init.get().getDataType();
        Optional<NodeProto> producer = g.producer(tensor);
        if (producer.isPresent()) {
            NodeProto n = producer.get();
            boolean standard = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
            if (standard && n.getOpType().equals("Cast")) return (int) Attrs.i(n, "to", 0);
            if (standard && n.getOpType().equals("Constant")) {
                for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                    if (a.getName().equals("value") && a.hasT()) return a.getT().getDataType();
                    if (a.getName().equals("value_float") || a.getName().equals("value_floats")) return TensorProto.DataType.FLOAT_VALUE;
                    if (a.getName().equals("value_int") || a.getName().equals("value_ints")) return TensorProto.DataType.INT64_VALUE;
                }
            }
            if (standard && OpSets.SHAPE_ONLY.contains(n.getOpType()) && n.getInputCount() > 0) {
                int t = typeOf(g, n.getInput(0), depth + 1);
                if (t != 0) return t;
            }
        }
        return graph.declaredType(tensor).filter(OnnxMl.TypeProto::hasTensorType).map(t -> t.getTensorType().getElemType()).orElse(0);
    }

    /** "float16", "int32". */
    static String name(int dataType) { return Tensors.typeName(dataType); }
}
