package ai.stamp.compiler.quant;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.ir.Tensors;
import java.util.Optional;

/** {@code (q - zero_point) * scale} computed in Java, exactly as DequantizeLinear computes it. */
public final class Dequantization {
    private Dequantization() {}

    /**
     * {@code (q - zp) * scale} with a per-tensor scale (one value) or a per-axis scale (one per index of
     * {@code axis}); int8/uint8 q, float scale, zero point of q's type (or null = 0). Empty when unsupported.
     */
    public static Optional<float[]> dequantize(TensorProto q, TensorProto scale, TensorProto zp, int axis) {
        int type = q.getDataType();
        if (type != TensorProto.DataType.INT8_VALUE && type != TensorProto.DataType.UINT8_VALUE) return Optional.empty();
        if (scale.getDataType() != TensorProto.DataType.FLOAT_VALUE) return Optional.empty();
        if (zp != null && zp.getDataType() != type) return Optional.empty();
        if (q.getDataLocation() == TensorProto.DataLocation.EXTERNAL || scale.getDataLocation() == TensorProto.DataLocation.EXTERNAL
                || (zp != null && zp.getDataLocation() == TensorProto.DataLocation.EXTERNAL)) return Optional.empty();
        long n = Tensors.numel(q);
        int[] qv = Tensors.readBytes(q, type).orElse(null);
        float[] s = Tensors.readFloats(scale).orElse(null);
        int[] z = zp == null ? new int[] {0} : Tensors.readBytes(zp, type).orElse(null);
        if (qv == null || s == null || z == null || qv.length != n || s.length == 0) return Optional.empty();
        int rank = q.getDimsCount();
        int channels;
        long inner = 1;
        if (s.length == 1 && scale.getDimsCount() <= 1) {
            channels = 1;
        } else {
            if (scale.getDimsCount() != 1 || axis < 0 || axis >= rank || q.getDims(axis) != s.length) return Optional.empty();
            channels = s.length;
            for (int d = axis + 1; d < rank; d++) inner *= q.getDims(d);
        }
        if (z.length != 1 && z.length != channels) return Optional.empty();
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) {
            int c = channels == 1 ? 0 : (int) ((i / inner) % channels);
            int zero = z.length == 1 ? z[0] : z[c];
            out[i] = (qv[i] - zero) * s[c];
        }
        return Optional.of(out);
    }

    /**
     * The [K, N] (row-major) weight of a com.microsoft MatMulNBits, as ONNX Runtime dequantizes it: B holds, for each
     * output column n and each of the {@code ceil(K / blockSize)} blocks along K, {@code blockSize * bits / 8} bytes
     * ({@code bits} 4: two values per byte, low nibble first; 8: one); {@code W[k][n] = (q - zp) * scale} with the
     * block's scale {@code scales[n * kBlocks + block]} and zero point: {@code packedZp} (uint8, per column
     * {@code ceil(kBlocks * bits / 8)} bytes, 4-bit ones low nibble first), {@code floatZp} ({@code [n * kBlocks + block]}),
     * or {@code 2^(bits - 1)} when both are null. The last block's padding (K not a multiple of the block size) is
     * ignored. The caller checked the sizes.
     */
    public static float[] matMulNBits(int[] b, int k, int n, int bits, int blockSize, float[] scales, int[] packedZp, float[] floatZp) {
        int kBlocks = (k + blockSize - 1) / blockSize;
        int blob = blockSize * bits / 8;
        int zpPerColumn = (kBlocks * bits + 7) / 8;
        float defaultZp = 1 << (bits - 1);
        float[] w = new float[k * n];
        for (int col = 0; col < n; col++) {
            for (int block = 0; block < kBlocks; block++) {
                int sb = col * kBlocks + block;
                float scale = scales[sb];
                float zp;
                if (floatZp != null) zp = floatZp[sb];
                else if (packedZp == null) zp = defaultZp;
                else if (bits == 8) zp = packedZp[col * zpPerColumn + block];
                else zp = (packedZp[col * zpPerColumn + block / 2] >> (block % 2 == 0 ? 0 : 4)) & 0x0f;
                int base = sb * blob;
                for (int i = 0; i < blockSize; i++) {
                    int row = block * blockSize + i;
                    if (row >= k) break;
                    int q = bits == 8 ? b[base + i] : (b[base + i / 2] >> (i % 2 == 0 ? 0 : 4)) & 0x0f;
                    w[row * n + col] = (q - zp) * scale;
                }
            }
        }
        return w;
    }
}
