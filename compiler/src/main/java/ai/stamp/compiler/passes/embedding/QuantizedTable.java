package ai.stamp.compiler.passes.embedding;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.ir.Graph;
import java.util.List;

/**
 * One float table quantized to int8 per row, shared by every Gather that reads it (they read the same int8 and scale
 * initializers, added once to the graph that holds the table).
 *
 * @param table  the float32 initializer's name
 * @param owner  the graph whose initializer it is (the Gathers may sit in nested bodies)
 * @param shape  [V, E]
 * @param values the int8 [V, E] values, unnamed
 * @param scales the float32 [V, 1] row scales, unnamed (a Gather of them has the lookup's rank, so Mul broadcasts)
 * @param maxScale the largest row scale (twice the largest rounding error of a lookup)
 */
public record QuantizedTable(String table, Graph owner, List<Long> shape, TensorProto values, TensorProto scales, float maxScale) {
    public long rows() { return shape.get(0); }

    public long cols() { return shape.get(1); }

    /** Bytes of the float table. */
    public long floatBytes() { return rows() * cols() * 4; }

    /** Bytes of the int8 values and the float row scales. */
    public long quantizedBytes() { return rows() * cols() + rows() * 4; }
}
