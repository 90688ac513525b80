package ai.stamp.ops;

import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;

/**
 * The floating-point element types a linear layer may compute in and the ops can be emitted at: each is a function
 * name suffix ({@link FloatTypedOp}) and a way to write a float constant at that type. FLOAT has the empty suffix, so
 * every float32 function keeps its name and body.
 *
 * <p>bfloat16 is not here: ONNX Runtime's CPU provider has no bfloat16 MatMul, Pad or Mul kernels (checked with 1.24
 * and 1.30), so a bfloat16 body could neither be loaded where the tests run nor be checked against the Java kernels.
 * The linear-layer matcher refuses such layers with that reason instead of emitting something unverified.
 */
public enum FloatType {
    FLOAT(TensorProto.DataType.FLOAT_VALUE, "", "float32"),
    FLOAT16(TensorProto.DataType.FLOAT16_VALUE, "_f16", "float16"),
    DOUBLE(TensorProto.DataType.DOUBLE_VALUE, "_f64", "float64");

    private final int dataType;
    private final String suffix;
    private final String label;

    FloatType(int dataType, String suffix, String label) {
        this.dataType = dataType;
        this.suffix = suffix;
        this.label = label;
    }

    /** The TensorProto.DataType number. */
    public int dataType() { return dataType; }

    /** Appended to a function name: "" for FLOAT. */
    public String suffix() { return suffix; }

    /** "float16", for reports. */
    public String label() { return label; }

    /** The type of a TensorProto.DataType number, if it is one of these. */
    public static Optional<FloatType> of(int dataType) {
        return Arrays.stream(values()).filter(t -> t.dataType == dataType).findFirst();
    }

    /**
     * {@code values} (float32) as a tensor of this type with {@code dims}, each value rounded to nearest even as Cast
     * rounds; raw little-endian data, as exporters write it.
     */
    public TensorProto tensor(float[] values, long... dims) {
        ByteBuffer b;
        switch (this) {
            case FLOAT -> {
                b = littleEndian(values.length * 4);
                for (float v : values) b.putFloat(v);
            }
            case FLOAT16 -> {
                b = littleEndian(values.length * 2);
                for (float v : values) b.putShort(Float16.fromFloat(v));
            }
            default -> {
                b = littleEndian(values.length * 8);
                for (float v : values) b.putDouble(v);
            }
        }
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(dataType).setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) t.addDims(d);
        return t.build();
    }

    /** {@code v} rounded to this type (to nearest even) and back to float; FLOAT and DOUBLE keep it. */
    public float round(float v) { return this == FLOAT16 ? Float16.round(v) : v; }

    private static ByteBuffer littleEndian(int bytes) { return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN); }
}
