package ai.stamp.compiler.quant;

import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The float weights {@code --dequantize-weights} restored from int8 symmetric per-axis QDQ weights, with the integers
 * and scales they came from, so that re-quantizing them RTN 8-bit per output channel keeps those integers and scales
 * bit for bit instead of rescaling (RTN of {@code q·s} gives q back only where {@code max|q| = 127}, and even then
 * {@code 127·s / 127} need not round back to s).
 */
public final class IntegerSources {
    public static final IntegerSources NONE = new IntegerSources(Map.of());

    /**
     * One restored weight: the initializer {@code name} holding {@code restored} (rank 2, [rows, cols]) was
     * {@code DequantizeLinear(values, scales)} with int8 {@code values} (row-major [rows, cols]), zero point 0 and one
     * scale per index of {@code axis}.
     */
    public record Source(String name, TensorProto restored, byte[] values, int rows, int cols, float[] scales, int axis) {}

    private final Map<String, List<Source>> byName;

    private IntegerSources(Map<String, List<Source>> byName) { this.byName = byName; }

    public static IntegerSources of(List<Source> sources) {
        Map<String, List<Source>> m = new LinkedHashMap<>();
        for (Source s : sources) m.computeIfAbsent(s.name(), k -> new ArrayList<>()).add(s);
        return m.isEmpty() ? NONE : new IntegerSources(Map.copyOf(m));
    }

    public boolean isEmpty() { return byName.isEmpty(); }

    /**
     * The existing int8 values and scales of weight initializer {@code t} (named {@code name}), as the per-output-channel
     * 8-bit {@link QuantizedWeight} [D, N] the layer uses ({@code transposed}: the layer reads it as [N, D], a Gemm's
     * transB), when it is a restored weight whose scale axis is the layer's output axis, whose scales are positive and
     * finite and whose values lie on RTN's symmetric grid [-127, 127]; empty otherwise (then RTN quantizes it).
     */
    public Optional<QuantizedWeight> perOutputChannel(String name, TensorProto t, boolean transposed) {
        for (Source s : byName.getOrDefault(name, List.of())) {
            if (!s.restored().getRawData().equals(t.getRawData()) || !s.restored().getDimsList().equals(t.getDimsList())) continue;
            if (s.axis() != (transposed ? 0 : 1)) return Optional.empty();
            for (float v : s.scales()) if (!(v > 0f) || Float.isInfinite(v)) return Optional.empty();
            for (byte v : s.values()) if (v == Byte.MIN_VALUE) return Optional.empty();
            if (!transposed) return Optional.of(new QuantizedWeight(s.rows(), s.cols(), 8, 0, s.values().clone(), s.scales().clone()));
            byte[] dn = new byte[s.values().length];
            for (int r = 0; r < s.rows(); r++)
                for (int c = 0; c < s.cols(); c++) dn[c * s.rows() + r] = s.values()[r * s.cols() + c];
            return Optional.of(new QuantizedWeight(s.cols(), s.rows(), 8, 0, dn, s.scales().clone()));
        }
        return Optional.empty();
    }
}
