package ai.stamp.compiler.passes.dequantize;

import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.ConstantValues;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.passes.linear.LinearLayerMatcher;
import ai.stamp.compiler.rewrite.Rewriter;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code --dequantize-weights}: turns already-quantized weights of linear layers back into float initializers
 * (computed here, in Java) so the layers can be rewritten like float ones. Two forms are recognised; everything
 * else is left as it is and reported by {@link QuantizedWeights}:
 * <ul>
 *   <li>QDQ weights: {@code DequantizeLinear(Wq, scale[, zero_point])} of an int8/uint8 initializer with a float
 *       per-tensor or per-axis scale, reached from a MatMul/Gemm's second operand (possibly through
 *       Transpose/Reshape/Identity...). The DequantizeLinear node is replaced by a float initializer of the same
 *       name, {@code (Wq - zero_point) * scale};</li>
 *   <li>dynamic quantization (onnxruntime's {@code quantize_dynamic}): {@code DynamicQuantizeLinear(x) -> (xq, xs, xzp)},
 *       {@code MatMulInteger(xq, Wq, xzp[, wzp]) -> Cast(float) -> Mul(., Mul(xs, wscale))} becomes
 *       {@code MatMul(x, W)} with {@code W = (Wq - wzp) * wscale} (per-tensor or per-column).</li>
 * </ul>
 * All changes go through the {@link Rewriter}. Integer initializers nothing reads any more are dropped.
 */
public final class WeightDequantizer {
    private static final Set<String> WEIGHT_PATH = Set.of("Identity", "Transpose", "Reshape", "Unsqueeze", "Squeeze", "Flatten");

    private final Rewriter rewriter;
    private final Pattern exclude;

    public WeightDequantizer(Rewriter rewriter, Optional<Pattern> exclude) {
        this.rewriter = rewriter;
        this.exclude = exclude.orElse(null);
    }

    /** The graph with every recognised quantized weight dequantized (the same graph when there is none). */
    public Graph apply(Graph graph) {
        Rewriter.GraphEdit edit = rewriter.edit(graph.proto(), "dequantize-weights");
        Set<NodeProto> removed = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        Set<String> dropInits = new HashSet<>();
        for (NodeProto node : graph.nodes()) {
            if (excluded(node)) continue;
            if (LinearLayerMatcher.isCandidate(node) && node.getInputCount() >= 2) {
                NodeProto dq = findDequantize(graph, node.getInput(1));
                if (dq == null || removed.contains(dq)) continue;
                Optional<TensorProto> w = dequantizeLinear(graph, dq);
                if (w.isEmpty()) continue;
                edit.replaceByInitializer(dq, w.get());
                removed.add(dq);
                for (String in : dq.getInputList()) dropInits.add(in);
            } else if (node.getOpType().equals("MatMulInteger") && node.getDomain().isEmpty()) {
                dynamicPattern(graph, node, edit, removed, dropInits);
            }
        }
        if (removed.isEmpty()) return graph;
        // DynamicQuantizeLinear nodes whose outputs nothing else reads
        for (NodeProto n : graph.nodes()) {
            if (!n.getOpType().equals("DynamicQuantizeLinear") || removed.contains(n)) continue;
            boolean unused = true;
            for (String out : n.getOutputList()) {
                if (graph.isGraphOutput(out)) unused = false;
                for (NodeProto c : graph.consumers(out)) if (!removed.contains(c)) unused = false;
            }
            if (unused) { edit.replace(n, List.of()); removed.add(n); }
        }
        for (String name : dropInits) {
            if (name.isEmpty() || graph.isGraphOutput(name)) continue;
            boolean own = graph.proto().getInitializerList().stream().anyMatch(t -> t.getName().equals(name));
            if (own && graph.consumers(name).stream().allMatch(removed::contains)) edit.removeInitializer(name);
        }
        return graph.withProto(edit.apply());
    }

    private boolean excluded(NodeProto node) {
        return exclude != null && exclude.matcher(Graph.nameOf(node)).find();
    }

    /** The DequantizeLinear that produces the weight {@code tensor} (through shape-only ops), or null. */
    static NodeProto findDequantize(Graph graph, String tensor) {
        String t = tensor;
        for (int depth = 0; depth < 8; depth++) {
            if (graph.initializer(t).isPresent()) return null;
            Optional<NodeProto> p = graph.producer(t);
            if (p.isEmpty()) return null;
            NodeProto n = p.get();
            if (n.getOpType().equals("DequantizeLinear") && n.getDomain().isEmpty()) return n;
            if (!WEIGHT_PATH.contains(n.getOpType()) || n.getInputCount() == 0) return null;
            t = n.getInput(0);
        }
        return null;
    }

    /** The float tensor a DequantizeLinear of constants computes, named as its output; empty when unsupported. */
    static Optional<TensorProto> dequantizeLinear(Graph graph, NodeProto dq) {
        if (dq.getInputCount() < 2 || dq.getOutputCount() < 1) return Optional.empty();
        Optional<TensorProto> x = ConstantValues.tensor(graph, dq.getInput(0));
        Optional<TensorProto> scale = ConstantValues.tensor(graph, dq.getInput(1));
        Optional<TensorProto> zp = dq.getInputCount() > 2 && !dq.getInput(2).isEmpty() ? ConstantValues.tensor(graph, dq.getInput(2)) : Optional.empty();
        if (x.isEmpty() || scale.isEmpty() || (dq.getInputCount() > 2 && !dq.getInput(2).isEmpty() && zp.isEmpty())) return Optional.empty();
        if (Attrs.i(dq, "block_size", 0) != 0) return Optional.empty();
        int rank = x.get().getDimsCount();
        long axis = Attrs.i(dq, "axis", 1);
        if (axis < 0) axis += rank;
        return dequantize(x.get(), scale.get(), zp.orElse(null), (int) axis).map(v -> floatTensor(dq.getOutput(0), v, x.get().getDimsList()));
    }

    /**
     * {@code (q - zp) * scale} with a per-tensor scale (one value) or a per-axis scale (one per index of
     * {@code axis}); int8/uint8 q, float scale, zero point of q's type (or null = 0). Empty when unsupported.
     */
    static Optional<float[]> dequantize(TensorProto q, TensorProto scale, TensorProto zp, int axis) {
        int type = q.getDataType();
        if (type != TensorProto.DataType.INT8_VALUE && type != TensorProto.DataType.UINT8_VALUE) return Optional.empty();
        if (scale.getDataType() != TensorProto.DataType.FLOAT_VALUE) return Optional.empty();
        if (zp != null && zp.getDataType() != type) return Optional.empty();
        if (q.getDataLocation() == TensorProto.DataLocation.EXTERNAL || scale.getDataLocation() == TensorProto.DataLocation.EXTERNAL
                || (zp != null && zp.getDataLocation() == TensorProto.DataLocation.EXTERNAL)) return Optional.empty();
        long n = QuantizedWeights.numel(q);
        if (n < 0 || n > Integer.MAX_VALUE - 8) return Optional.empty();
        int[] qv = ints(q, type);
        float[] s = floats(scale);
        int[] z = zp == null ? new int[] {0} : ints(zp, type);
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

    /** DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(., Mul(x_scale, w_scale)) becomes MatMul(x, W). */
    private void dynamicPattern(Graph graph, NodeProto mmi, Rewriter.GraphEdit edit, Set<NodeProto> removed, Set<String> dropInits) {
        if (mmi.getInputCount() < 2 || mmi.getOutputCount() != 1 || removed.contains(mmi)) return;
        NodeProto dql = graph.producer(mmi.getInput(0)).orElse(null);
        if (dql == null || !dql.getOpType().equals("DynamicQuantizeLinear") || dql.getOutputCount() < 3) return;
        if (mmi.getInputCount() > 2 && !mmi.getInput(2).isEmpty() && !mmi.getInput(2).equals(dql.getOutput(2))) return;
        Optional<TensorProto> wq = graph.initializer(mmi.getInput(1));
        if (wq.isEmpty() || wq.get().getDimsCount() != 2) return;
        TensorProto wzp = null;
        if (mmi.getInputCount() > 3 && !mmi.getInput(3).isEmpty()) {
            wzp = ConstantValues.tensor(graph, mmi.getInput(3)).orElse(null);
            if (wzp == null) return;
        }
        NodeProto cast = sole(graph, mmi.getOutput(0));
        if (cast == null || cast.getOutputCount() != 1 || !cast.getOpType().equals("Cast") || Attrs.i(cast, "to", 0) != TensorProto.DataType.FLOAT_VALUE) return;
        NodeProto mul = sole(graph, cast.getOutput(0));
        if (mul == null || !mul.getOpType().equals("Mul") || mul.getInputCount() != 2 || mul.getOutputCount() != 1) return;
        String scaleTensor = mul.getInput(0).equals(cast.getOutput(0)) ? mul.getInput(1) : mul.getInput(0);
        NodeProto scaleMul = graph.producer(scaleTensor).orElse(null);
        if (scaleMul == null || !scaleMul.getOpType().equals("Mul") || scaleMul.getInputCount() != 2 || scaleMul.getOutputCount() != 1) return;
        String wScaleName;
        if (scaleMul.getInput(0).equals(dql.getOutput(1))) wScaleName = scaleMul.getInput(1);
        else if (scaleMul.getInput(1).equals(dql.getOutput(1))) wScaleName = scaleMul.getInput(0);
        else return;
        Optional<TensorProto> wScale = ConstantValues.tensor(graph, wScaleName);
        if (wScale.isEmpty()) return;
        // per-tensor scale, or per column N: axis 1 of Wq [K, N]
        Optional<float[]> w = dequantize(wq.get(), wScale.get(), wzp, 1);
        if (w.isEmpty()) return;
        boolean scaleMulShared = graph.consumers(scaleMul.getOutput(0)).size() > 1 || graph.isGraphOutput(scaleMul.getOutput(0));
        String wName = edit.addInitializer(mmi.getInput(1) + "_dequantized", floatTensor("", w.get(), wq.get().getDimsList()));
        NodeProto matmul = NodeProto.newBuilder().setOpType("MatMul")
                .setName(mmi.getName().isEmpty() ? rewriter.fresh("MatMul_dequantized") : mmi.getName())
                .addInput(dql.getInput(0)).addInput(wName).addOutput(mul.getOutput(0))
                .setDocString("stamp-onnx dequantize-weights: was DynamicQuantizeLinear + MatMulInteger '" + Graph.nameOf(mmi) + "'").build();
        edit.replace(mmi, List.of());
        edit.replace(cast, List.of());
        edit.replace(mul, List.of(matmul));
        removed.add(mmi);
        removed.add(cast);
        removed.add(mul);
        if (!scaleMulShared) { edit.replace(scaleMul, List.of()); removed.add(scaleMul); }
        dropInits.add(mmi.getInput(1));
        if (wzp != null) dropInits.add(mmi.getInput(3));
        if (!scaleMulShared) dropInits.add(wScaleName);
    }

    private static NodeProto sole(Graph graph, String tensor) {
        List<NodeProto> c = graph.consumers(tensor);
        return c.size() == 1 && !graph.isGraphOutput(tensor) ? c.get(0) : null;
    }

    private static int[] ints(TensorProto t, int type) {
        long n = QuantizedWeights.numel(t);
        if (n < 0 || n > Integer.MAX_VALUE - 8) return null;
        if (!t.getRawData().isEmpty()) {
            ByteString raw = t.getRawData();
            if (raw.size() != n) return null;
            int[] out = new int[(int) n];
            for (int i = 0; i < out.length; i++) {
                byte b = raw.byteAt(i);
                out[i] = type == TensorProto.DataType.UINT8_VALUE ? (b & 0xff) : b;
            }
            return out;
        }
        if (t.getInt32DataCount() != n) return null;
        int[] out = new int[(int) n];
        for (int i = 0; i < out.length; i++) {
            int v = t.getInt32Data(i);
            out[i] = type == TensorProto.DataType.UINT8_VALUE ? (v & 0xff) : (byte) v;
        }
        return out;
    }

    private static float[] floats(TensorProto t) {
        long n = QuantizedWeights.numel(t);
        if (n < 0 || n > Integer.MAX_VALUE - 8) return null;
        if (!t.getRawData().isEmpty()) {
            if (t.getRawData().size() != n * 4) return null;
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[(int) n];
            for (int i = 0; i < out.length; i++) out[i] = b.getFloat();
            return out;
        }
        if (t.getFloatDataCount() != n) return null;
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) out[i] = t.getFloatData(i);
        return out;
    }

    static TensorProto floatTensor(String name, float[] v, List<Long> dims) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        b.flip();
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addAllDims(dims).setRawData(ByteString.copyFrom(b)).build();
    }
}
