package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.StampException;
import ai.stamp.ops.Float16;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;

/** The one copy of the tensor codecs: TensorProto values to Java arrays and back (inline data only). */
public final class Tensors {
    private Tensors() {}

    /** Number of elements of a tensor from its dims (rank 0 = 1); -1 on overflow or negative dims. */
    public static long numel(TensorProto t) {
        long n = 1;
        try {
            for (long d : t.getDimsList()) {
                if (d < 0) return -1;
                n = Math.multiplyExact(n, d);
            }
        } catch (ArithmeticException e) {
            return -1;
        }
        return n;
    }

    /** The dims as an array. */
    public static long[] dims(TensorProto t) { return t.getDimsList().stream().mapToLong(Long::longValue).toArray(); }

    /** The float32 values of an inline tensor, or empty when its stored count does not match its shape. */
    public static Optional<float[]> readFloats(TensorProto t) {
        long n = numel(t);
        if (n < 0 || n > Integer.MAX_VALUE - 8 || t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) return Optional.empty();
        if (!t.getRawData().isEmpty() || t.getFloatDataCount() == 0) {
            if (t.getRawData().size() != n * 4) return Optional.empty();
            float[] v = new float[(int) n];
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            return Optional.of(v);
        }
        if (t.getFloatDataCount() != n) return Optional.empty();
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = t.getFloatData(i);
        return Optional.of(v);
    }

    /** Whether {@code dataType} is float16, float32 or float64: the types {@link #readAsFloats} reads. */
    public static boolean isFloatingPoint(int dataType) {
        return dataType == TensorProto.DataType.FLOAT_VALUE || dataType == TensorProto.DataType.FLOAT16_VALUE
                || dataType == TensorProto.DataType.DOUBLE_VALUE;
    }

    /**
     * How many values the inline data of a float16/float32/float64 tensor holds (raw bytes or its typed field),
     * -1 for another type.
     */
    public static long storedValues(TensorProto t) {
        return switch (t.getDataType()) {
            case TensorProto.DataType.FLOAT_VALUE -> t.getRawData().isEmpty() ? t.getFloatDataCount() : t.getRawData().size() / 4;
            case TensorProto.DataType.FLOAT16_VALUE -> t.getRawData().isEmpty() ? t.getInt32DataCount() : t.getRawData().size() / 2;
            case TensorProto.DataType.DOUBLE_VALUE -> t.getRawData().isEmpty() ? t.getDoubleDataCount() : t.getRawData().size() / 8;
            default -> -1;
        };
    }

    /**
     * The values of an inline float16, float32 or float64 tensor as float32 (float64 rounded to nearest, as Cast does),
     * or empty for another type or when the stored count does not match its shape.
     */
    public static Optional<float[]> readAsFloats(TensorProto t) {
        if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE) return readFloats(t);
        long n = numel(t);
        if (n < 0 || n > Integer.MAX_VALUE - 8 || t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || storedValues(t) != n) {
            return Optional.empty();
        }
        float[] v = new float[(int) n];
        boolean raw = !t.getRawData().isEmpty();
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        if (t.getDataType() == TensorProto.DataType.FLOAT16_VALUE) {
            for (int i = 0; i < v.length; i++) v[i] = halfToFloat(raw ? b.getShort() & 0xffff : t.getInt32Data(i) & 0xffff);
        } else if (t.getDataType() == TensorProto.DataType.DOUBLE_VALUE) {
            for (int i = 0; i < v.length; i++) v[i] = (float) (raw ? b.getDouble() : t.getDoubleData(i));
        } else {
            return Optional.empty();
        }
        return Optional.of(v);
    }

    /** The float32 value of IEEE half-precision bits (exact: every half is a float); the codec is {@link Float16}'s. */
    static float halfToFloat(int bits) { return Float16.toFloat((short) bits); }

    /** As {@link #readFloats}, for a tensor the caller checked; a mismatch is a model error naming the tensor. */
    public static float[] floats(TensorProto t) {
        return readFloats(t).orElseThrow(() -> new StampException(StampException.Kind.UNSUPPORTED_MODEL, "tensor '" + t.getName()
                + "' does not hold the " + numel(t) + " float values its shape " + t.getDimsList() + " says"));
    }

    /**
     * The values of an inline int8 or uint8 tensor ({@code type}) as ints, or empty when the stored count does not
     * match its shape.
     */
    public static Optional<int[]> readBytes(TensorProto t, int type) {
        long n = numel(t);
        if (n < 0 || n > Integer.MAX_VALUE - 8) return Optional.empty();
        boolean unsigned = type == TensorProto.DataType.UINT8_VALUE;
        int[] out = new int[(int) n];
        if (!t.getRawData().isEmpty()) {
            ByteString raw = t.getRawData();
            if (raw.size() != n) return Optional.empty();
            for (int i = 0; i < out.length; i++) out[i] = unsigned ? (raw.byteAt(i) & 0xff) : raw.byteAt(i);
            return Optional.of(out);
        }
        if (t.getInt32DataCount() != n) return Optional.empty();
        for (int i = 0; i < out.length; i++) out[i] = unsigned ? (t.getInt32Data(i) & 0xff) : (byte) t.getInt32Data(i);
        return Optional.of(out);
    }

    /** An unnamed float32 tensor of {@code dims} holding {@code values} as little-endian raw data. */
    public static TensorProto floatTensor(float[] values, long... dims) {
        ByteBuffer b = littleEndian(values.length * 4);
        b.asFloatBuffer().put(values);
        return raw(TensorProto.DataType.FLOAT_VALUE, b, dims);
    }

    /** An unnamed float16 tensor of {@code dims} holding {@code values} rounded to nearest even (as Cast does). */
    public static TensorProto float16Tensor(float[] values, long... dims) {
        ByteBuffer b = littleEndian(values.length * 2);
        for (float v : values) b.putShort((short) floatToHalf(v));
        return raw(TensorProto.DataType.FLOAT16_VALUE, b, dims);
    }

    /** The IEEE half-precision bits nearest to {@code f} (ties to even; overflow to infinity, NaN stays NaN). */
    static int floatToHalf(float f) { return Float16.fromFloat(f) & 0xffff; }

    private static ByteBuffer littleEndian(int bytes) { return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN); }

    /** An unnamed tensor of {@code type} and {@code dims} whose raw data is {@code bytes}' backing array. */
    private static TensorProto raw(int type, ByteBuffer bytes, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(type).setRawData(ByteString.copyFrom(bytes.array()));
        for (long dim : dims) t.addDims(dim);
        return t.build();
    }

    /** As {@link #floatTensor(float[], long...)} with the dims as a list. */
    public static TensorProto floatTensor(float[] values, List<Long> dims) {
        return floatTensor(values, dims.stream().mapToLong(Long::longValue).toArray());
    }

    /** An unnamed INT32 tensor of {@code dims} (raw little-endian data). */
    public static TensorProto int32Tensor(int[] values, long... dims) {
        ByteBuffer b = littleEndian(values.length * 4);
        b.asIntBuffer().put(values);
        return raw(TensorProto.DataType.INT32_VALUE, b, dims);
    }

    /** An unnamed INT8 tensor, or INT4 (two values per byte, low nibble first) of {@code dims}. */
    public static TensorProto intTensor(byte[] values, boolean int4, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(int4 ? TensorProto.DataType.INT4_VALUE : TensorProto.DataType.INT8_VALUE);
        for (long dim : dims) t.addDims(dim);
        return t.setRawData(ByteString.copyFrom(packed(values, int4))).build();
    }

    /** {@code v} itself (INT8), or two values per byte, low nibble first (INT4). */
    public static byte[] packed(byte[] v, boolean int4) {
        if (!int4) return v;
        byte[] raw = new byte[(v.length + 1) / 2];
        for (int i = 0; i < v.length; i++) raw[i / 2] |= (byte) ((v[i] & 0x0F) << (i % 2 == 0 ? 0 : 4));
        return raw;
    }

    /** The transpose of a row-major rows × cols matrix. */
    public static float[] transpose(float[] v, int rows, int cols) {
        float[] out = new float[v.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c];
        return out;
    }

    /**
     * The values of a row-major tensor of {@code dims} with its axes permuted: output axis i is input axis
     * {@code perm[i]} (ONNX Transpose).
     */
    public static float[] permute(float[] v, long[] dims, int[] perm) {
        int rank = dims.length;
        long[] stride = new long[rank];
        long s = 1;
        for (int a = rank - 1; a >= 0; a--) {
            stride[a] = s;
            s *= dims[a];
        }
        float[] out = new float[v.length];
        int[] index = new int[rank];
        long from = 0;
        for (int o = 0; o < out.length; o++) {
            out[o] = v[(int) from];
            for (int a = rank - 1; a >= 0; a--) {
                int in = perm[a];
                from += stride[in];
                if (++index[a] < dims[in]) break;
                from -= stride[in] * dims[in];
                index[a] = 0;
            }
        }
        return out;
    }

    /** "int8", "float", or "type 42". */
    public static String typeName(int dataType) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(dataType);
        return t == null ? "type " + dataType : t.name().toLowerCase();
    }
}
