package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.quant.FeatureWeightTransform;
import ai.stamp.compiler.quant.Gptq;
import ai.stamp.compiler.quant.QuantizedWeight;
import ai.stamp.compiler.quant.RtnQuantizer;
import ai.stamp.compiler.rewrite.Rewriter;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;

/**
 * Weight quantization of one linear layer (STAMP.md section 5): RTN, or GPTQ with the calibration Gram matrix
 * of the layer's input; called by {@link StampRule}. When feature transforms are on, the weight is first
 * transformed offline ({@link FeatureWeightTransform}: W' = R^T diag(s) W, and GPTQ's Gram matrix accordingly) and
 * W' is quantized (or, without a method, stored as a new float initializer).
 *
 * <p>W is quantized as the MatMul uses it, [D, N] (a Gemm's transB is folded in), and emitted in the best
 * form the model's default opset allows:
 * <ul>
 *   <li>per output channel, opset &gt;= 13: an INT8 initializer (INT4 from opset 21) + float scales [N] +
 *       {@code DequantizeLinear(axis=1)}, zero point omitted (symmetric);</li>
 *   <li>per block along D, opset &gt;= 21: INT8/INT4 initializer + scales [ceil(D/B), N] +
 *       {@code DequantizeLinear(axis=0, block_size=B)};</li>
 *   <li>otherwise: the dequantized values as a new float initializer (same numbers).</li>
 * </ul>
 * 4-bit values at opsets 13..20 are stored in INT8 (no INT4 type there). Only a plain float initializer (of
 * this graph or an outer one) is quantized; anything else is left as it is and the detail says why. The
 * original initializer is removed only when this layer was its sole reader in its own graph.
 */
final class WeightEmitter {
    static final int MIN_OPSET_PER_AXIS = 13;
    static final int MIN_OPSET_BLOCKED_AND_INT4 = 21;

    /** {@code tensor}: the [D, N] weight the MatMul should read, empty when the weight was left alone. */
    record Result(Optional<String> tensor, String detail) {
        static Result none() { return new Result(Optional.empty(), ""); }
    }

    private final Rewriter rewriter;
    private final Rewriter.GraphEdit edit;
    private final StampConfig.WeightQuant method;
    private final int block;
    private final int opset;
    private final CalibrationStats stats;
    private final ExternalWeights external;

    WeightEmitter(Rewriter rewriter, Rewriter.GraphEdit edit, StampConfig.WeightQuant method, int block, int opset) {
        this(rewriter, edit, method, block, opset, CalibrationStats.NONE);
    }

    /** {@code stats}: calibration statistics, for GPTQ's Gram matrices. */
    WeightEmitter(Rewriter rewriter, Rewriter.GraphEdit edit, StampConfig.WeightQuant method, int block, int opset, CalibrationStats stats) {
        this(rewriter, edit, method, block, opset, stats, ExternalWeights.NONE);
    }

    /** {@code external}: how to read external-data weights and where their quantized values go (NONE: leave them). */
    WeightEmitter(Rewriter rewriter, Rewriter.GraphEdit edit, StampConfig.WeightQuant method, int block, int opset, CalibrationStats stats,
                  ExternalWeights external) {
        this.external = external;
        this.rewriter = rewriter;
        this.edit = edit;
        this.method = method;
        this.block = block;
        this.opset = opset;
        this.stats = stats;
    }

    Result emit(LinearLayer layer, List<NodeProto> nodes) {
        return emit(layer, FeatureWeightTransform.IDENTITY, nodes);
    }

    /**
     * The weight the MatMul reads: W' = {@code transform}(W) (the feature transforms' R^T diag(s) W, computed here
     * offline), quantized when a method is on, else stored as a new float initializer. Identity transform and no
     * method: nothing (the MatMul keeps reading W).
     */
    Result emit(LinearLayer layer, FeatureWeightTransform transform, List<NodeProto> nodes) {
        if (method == StampConfig.WeightQuant.NONE && transform.isIdentity()) return Result.none();
        int bits = method.bits();
        String kind = method.isGptq() ? "gptq" : "rtn";
        String tag = "W" + bits + " " + kind + (block == 0 ? " per-channel" : " block=" + block);
        String w = layer.weight();
        Optional<TensorProto> init = layer.graph().initializer(w);
        if (external.enabled() && transform.isIdentity() && init.isPresent() && ExternalWeights.isExternal(init.get())) {
            return emitExternal(layer, init.get(), tag, kind, bits, nodes);
        }
        String problem = weightProblem(layer);
        if (problem != null) {
            // the feature transforms check the weight too and leave such a layer alone
            return new Result(Optional.empty(), method == StampConfig.WeightQuant.NONE ? "" : tag + " skipped: " + problem + " (weight left as it is)");
        }
        int d = (int) (long) layer.weightShape().get(0), n = (int) (long) layer.weightShape().get(1);
        float[] values = transform.apply(weightDN(layer), d, n);
        if (method == StampConfig.WeightQuant.NONE) {
            String out = edit.addInitializer(w + transform.suffix(), floatTensor(values, new long[] {d, n}));
            return new Result(Optional.of(out), "weight " + transform.describe() + " as '" + out + "'" + removeOriginal(layer));
        }
        QuantizedWeight q = method.isGptq()
                ? Gptq.quantize(values, d, n, transform.gram(gram(layer, d), d), bits, block)
                : RtnQuantizer.quantize(values, d, n, bits, block);
        String prefix = w + transform.suffix() + "_" + kind + bits;

        String name = layer.name();
        String out;
        String form;
        String noDq = whyNoDequantizeLinear(bits);
        if (noDq == null) {
            boolean int4 = bits == 4 && opset >= MIN_OPSET_BLOCKED_AND_INT4;
            out = dequantizeLinear(w, prefix, intTensor(q, int4), q.scales(), q.scaleRows(), n, name, nodes);
            form = dequantizeLinearForm(bits, int4);
        } else {
            out = edit.addInitializer(prefix + "_dequantized", floatTensor(q.dequantize(), new long[] {d, n}));
            form = "pre-dequantized float (" + noDq + ")";
        }
        return new Result(Optional.of(out), tag + " as " + form + removeOriginal(layer));
    }

    /** {@code DequantizeLinear(values, scales)} (symmetric: no zero point) per output channel or per block; returns its output. */
    private String dequantizeLinear(String w, String prefix, TensorProto values, float[] scales, int scaleRows, int n, String layerName,
                                    List<NodeProto> nodes) {
        String qName = edit.addInitializer(prefix, values);
        String sName = edit.addInitializer(prefix + "_scale", floatTensor(scales, block == 0 ? new long[] {n} : new long[] {scaleRows, n}));
        String out = rewriter.fresh(w + "_dq");
        OnnxMl.AttributeProto[] attrs = block == 0
                ? new OnnxMl.AttributeProto[] {intAttr("axis", 1)}
                : new OnnxMl.AttributeProto[] {intAttr("axis", 0), intAttr("block_size", block)};
        nodes.add(edit.node("DequantizeLinear", List.of(qName, sName), List.of(out), layerName, attrs));
        return out;
    }

    private String dequantizeLinearForm(int bits, boolean int4) {
        return "DequantizeLinear(" + (int4 ? "int4" : bits == 4 ? "int8; opset " + opset + " has no int4" : "int8") + ")";
    }

    /**
     * RTN of a float weight kept as external data, streamed: the stored floats are read twice in 4 MiB chunks (max|w|
     * per scale, then the rounded values), so the heap holds the [D, N] int8 values and the scales only; those values
     * go to the scratch data file as an EXTERNAL tensor. Same numbers as {@link RtnQuantizer} on the whole weight.
     */
    private Result emitExternal(LinearLayer layer, TensorProto t, String tag, String kind, int bits, List<NodeProto> nodes) {
        String w = layer.weight();
        if (method.isGptq()) {
            return new Result(Optional.empty(), tag + " skipped: weight '" + w + "' is stored as external data, which GPTQ does not"
                    + " support (it needs the whole weight in memory); use --weights rtn" + bits + " (weight left as it is)");
        }
        String problem = externalProblem(w, t);
        if (problem != null) return new Result(Optional.empty(), tag + " skipped: " + problem + " (weight left as it is)");
        boolean transposed = layer.transposeWeight();
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
        for (int k = 0; k < scales.length; k++) scales[k] = RtnQuantizer.scaleFor(scales[k], qmax);
        byte[] values = new byte[d * n];
        streamFloats(file, offset, rows, cols, (i, j, v) -> {
            int dd = transposed ? j : i, nn = transposed ? i : j;
            values[dd * n + nn] = (byte) RtnQuantizer.quantizeValue(v, scales[(dd / span) * n + nn], qmax);
        });
        String prefix = w + "_" + kind + bits;
        String name = layer.name();
        String out;
        String form;
        String noDq = whyNoDequantizeLinear(bits);
        if (noDq == null) {
            boolean int4 = bits == 4 && opset >= MIN_OPSET_BLOCKED_AND_INT4;
            TensorProto ext = external.append(ByteBuffer.wrap(packed(values, int4)),
                    int4 ? TensorProto.DataType.INT4_VALUE : TensorProto.DataType.INT8_VALUE, d, n);
            out = dequantizeLinear(w, prefix, ext, scales, sr, n, name, nodes);
            form = dequantizeLinearForm(bits, int4);
        } else {
            // the dequantized floats, written a row block at a time
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
            out = edit.addInitializer(prefix + "_dequantized", external.end(start, TensorProto.DataType.FLOAT_VALUE, d, n));
            form = "pre-dequantized float (" + noDq + ")";
        }
        return new Result(Optional.of(out), tag + " as " + form + " (streamed from external data)" + removeOriginal(layer));
    }

    /** Null when {@code t} is an external float32 rank-2 tensor whose byte range exists in its file, else the problem. */
    private String externalProblem(String w, TensorProto t) {
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            return "weight '" + w + "' is " + TensorProto.DataType.forNumber(t.getDataType()) + ", not float32";
        }
        if (t.getDimsCount() != 2) return "weight '" + w + "' has rank " + t.getDimsCount();
        long count = t.getDims(0) * t.getDims(1);
        if (count <= 0 || count > Integer.MAX_VALUE - 8) return "weight '" + w + "' has " + count + " values (external weights up to 2^31 values are quantized)";
        long bytes = count * 4;
        long length = ExternalWeights.length(t, bytes);
        if (length != bytes) return "weight '" + w + "' has external length " + length + ", its shape says " + bytes + " bytes";
        Path file = external.file(t);
        try {
            long size = Files.size(file);
            if (ExternalWeights.offset(t) + bytes > size) return "weight '" + w + "' reaches past the end of " + file;
        } catch (IOException e) {
            throw new StampException(StampException.Kind.EXTERNAL_DATA_MISSING, "cannot read external data " + file + " of weight '" + w + "': " + e.getMessage(), e);
        }
        return null;
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

    /** X^T X of the layer's input from calibration; a clear error when GPTQ has none. */
    private double[] gram(LinearLayer layer, int d) {
        double[] g = stats.of(layer.activation()).flatMap(ActivationStats::gramMatrix).orElseThrow(() -> new StampException(
                StampException.Kind.BAD_OPTION, "--weights " + method.name().toLowerCase() + " needs the Gram matrix X^T X of the input '"
                + layer.activation() + "' of layer '" + layer.name() + "', but the calibration statistics have none for it:"
                + " calibrate with Gram matrices collected, or use --weights rtn" + method.bits()));
        if (g.length != (long) d * d) {
            throw new StampException(StampException.Kind.BAD_OPTION, "the calibration Gram matrix of '" + layer.activation() + "' (layer '"
                    + layer.name() + "') has " + g.length + " values, the layer needs " + d + "x" + d + ": recalibrate this model");
        }
        return g;
    }

    /** Null when a DequantizeLinear of the integer weight is expressible at this opset, else why not. */
    private String whyNoDequantizeLinear(int bits) {
        if (block > 0 && opset < MIN_OPSET_BLOCKED_AND_INT4) return "opset " + opset + " has no blocked DequantizeLinear";
        if (opset < MIN_OPSET_PER_AXIS) return "opset " + opset + (bits == 4 ? " has no int4" : " has no per-axis DequantizeLinear");
        return null;
    }

    /** Removes the original initializer when this layer was its only reader; else says why it stays. */
    private String removeOriginal(LinearLayer layer) {
        String w = layer.weight();
        Graph graph = layer.graph();
        boolean local = graph.proto().getInitializerList().stream().anyMatch(t -> t.getName().equals(w));
        if (!local) return "; original '" + w + "' kept (outer-scope initializer)";
        boolean soleReader = graph.consumers(w).stream().allMatch(c -> c == layer.node())
                && !graph.isGraphOutput(w)
                && graph.proto().getInputList().stream().noneMatch(v -> v.getName().equals(w));
        if (!soleReader) return "; original '" + w + "' kept (read elsewhere)";
        edit.removeInitializer(w);
        return "";
    }

    /** Null when the layer's weight is a plain float32 rank-2 initializer (of this graph or an outer one), else why not. */
    static String weightProblem(LinearLayer layer) {
        String w = layer.weight();
        Optional<TensorProto> init = layer.graph().initializer(w);
        return init.isPresent() ? unreadable(w, init.get()) : "weight '" + w + "' is "
                + layer.graph().producer(w).map(p -> "computed by a " + p.getOpType() + " node").orElse("not an initializer")
                + ", not a float initializer";
    }

    /** The weight as the MatMul uses it, [D, N] row-major (a Gemm's transB folded in); only when {@link #weightProblem} is null. */
    static float[] weightDN(LinearLayer layer) {
        TensorProto t = layer.graph().initializer(layer.weight()).orElseThrow();
        float[] values = floats(t);
        return layer.transposeWeight() ? transpose(values, (int) t.getDims(0), (int) t.getDims(1)) : values;
    }

    /** Null when {@code t} is a plain float32 rank-2 initializer with its data inline, else the problem. */
    private static String unreadable(String w, TensorProto t) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) return "weight '" + w + "' is stored as external data";
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            return "weight '" + w + "' is " + TensorProto.DataType.forNumber(t.getDataType()) + ", not float32";
        }
        if (t.getDimsCount() != 2) return "weight '" + w + "' has rank " + t.getDimsCount();
        long count = t.getDims(0) * t.getDims(1);
        long stored = t.getFloatDataCount() > 0 ? t.getFloatDataCount() : t.getRawData().size() / 4;
        if (count != stored) return "weight '" + w + "' holds " + stored + " values, its shape says " + count;
        return null;
    }

    static float[] floats(TensorProto t) {
        if (t.getFloatDataCount() > 0) {
            float[] v = new float[t.getFloatDataCount()];
            for (int i = 0; i < v.length; i++) v[i] = t.getFloatData(i);
            return v;
        }
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return v;
    }

    private static float[] transpose(float[] v, int rows, int cols) {
        float[] out = new float[v.length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c];
        return out;
    }

    /** INT8 (one byte per value) or INT4 (two values per byte, low nibble first) [D, N]. */
    private static TensorProto intTensor(QuantizedWeight q, boolean int4) {
        byte[] raw = packed(q.values(), int4);
        return TensorProto.newBuilder().setDataType(int4 ? TensorProto.DataType.INT4_VALUE : TensorProto.DataType.INT8_VALUE)
                .addDims(q.rows()).addDims(q.cols()).setRawData(ByteString.copyFrom(raw)).build();
    }

    /** {@code v} itself (INT8), or two values per byte, low nibble first (INT4). */
    private static byte[] packed(byte[] v, boolean int4) {
        if (!int4) return v;
        byte[] raw = new byte[(v.length + 1) / 2];
        for (int i = 0; i < v.length; i++) raw[i / 2] |= (byte) ((v[i] & 0x0F) << (i % 2 == 0 ? 0 : 4));
        return raw;
    }

    static TensorProto floatTensor(float[] values, long[] dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(b.array()));
        for (long dim : dims) t.addDims(dim);
        return t.build();
    }

    private static OnnxMl.AttributeProto intAttr(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT).setI(value).build();
    }
}
