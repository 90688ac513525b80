package ai.stamp.compiler.quant;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.ExternalWeights;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * RTN of a float32 weight kept as external data, without loading it: the stored floats are read twice in 4 MiB
 * chunks (max|w| per scale, then the rounded values), so the heap holds the [D, N] int8 values and the scales only.
 * Same numbers as {@link RtnQuantizer} on the whole weight.
 */
public final class StreamedRtn {
    private StreamedRtn() {}

    /**
     * Quantizes the [rows, cols] weight stored in {@code t} (read through {@code external}) as the MatMul uses it,
     * [D, N] ({@code transposed}: stored as [N, D], Gemm's transB).
     */
    public static QuantizedWeight quantize(ExternalWeights external, TensorProto t, boolean transposed, int bits, int block) {
        int rows = (int) t.getDims(0), cols = (int) t.getDims(1);      // as stored
        int d = transposed ? cols : rows, n = transposed ? rows : cols; // as the MatMul uses it
        int qmax = QuantizedWeight.qmax(bits);
        int span = block == 0 ? d : block;
        int sr = QuantizedWeight.scaleRows(d, block);
        Path file = external.file(t);
        long offset = ExternalWeights.offset(t);
        float[] scales = new float[sr * n];
        streamFloats(file, offset, rows, cols, (i, j, v) -> {
            int dd = transposed ? j : i, nn = transposed ? i : j;
            int k = (dd / span) * n + nn;
            scales[k] = Math.max(scales[k], Math.abs(v));
        });
        float maxAbs = 0;
        for (float m : scales) maxAbs = Math.max(maxAbs, m); // NaN stays NaN
        String problem = QuantizedArithmetic.problem(maxAbs, d);
        if (problem != null) {
            throw new StampException(StampException.Kind.MODEL_DATA, "weight '" + t.getName() + "' (external data) " + problem
                    + ": fix the tensor, or leave its layer out with --exclude");
        }
        for (int k = 0; k < scales.length; k++) scales[k] = RtnQuantizer.scaleFor(scales[k], qmax);
        byte[] values = new byte[d * n];
        streamFloats(file, offset, rows, cols, (i, j, v) -> {
            int dd = transposed ? j : i, nn = transposed ? i : j;
            values[dd * n + nn] = (byte) RtnQuantizer.quantizeValue(v, scales[(dd / span) * n + nn], qmax);
        });
        return new QuantizedWeight(d, n, bits, block, values, scales);
    }

    /** Writes q's dequantized floats [D, N] to the scratch file, a row block at a time; returns the EXTERNAL tensor. */
    public static TensorProto writeDequantized(ExternalWeights external, QuantizedWeight q) {
        int d = q.rows(), n = q.cols(), block = q.block();
        byte[] values = q.values();
        float[] scales = q.scales();
        long start = external.begin();
        ByteBuffer buf = ByteBuffer.allocate(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
        for (int dd = 0; dd < d; dd++) {
            int r = block == 0 ? 0 : dd / block;
            for (int nn = 0; nn < n; nn++) {
                if (!buf.hasRemaining()) { buf.flip(); external.write(buf); buf.clear(); }
                buf.putFloat(values[dd * n + nn] * scales[r * n + nn]);
            }
        }
        buf.flip();
        external.write(buf);
        return external.end(start, TensorProto.DataType.FLOAT_VALUE, d, n);
    }

    private interface FloatVisitor { void accept(int row, int col, float value); }

    /** Visits the stored [rows, cols] float32 little-endian values at {@code offset} of {@code file} in row-major order. */
    private static void streamFloats(Path file, long offset, int rows, int cols, FloatVisitor visitor) {
        ByteBuffer buf = ByteBuffer.allocate(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
        long total = (long) rows * cols * 4;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long done = 0;
            int i = 0, j = 0;
            while (done < total) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), total - done));
                while (buf.hasRemaining()) {
                    int r = ch.read(buf, offset + done + buf.position());
                    if (r < 0) throw new IOException("unexpected end of file");
                }
                done += buf.limit();
                buf.flip();
                FloatBuffer f = buf.asFloatBuffer();
                while (f.hasRemaining()) {
                    visitor.accept(i, j, f.get());
                    if (++j == cols) { j = 0; i++; }
                }
            }
        } catch (IOException e) {
            throw new StampException(StampException.Kind.EXTERNAL_DATA_MISSING, "cannot read external data " + file + ": " + e.getMessage(), e);
        }
    }
}
