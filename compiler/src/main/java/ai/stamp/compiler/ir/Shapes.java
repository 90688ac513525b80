package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Static shapes where the graph tells them: declared types, initializers, and a forward pass over the
 * ops transformer graphs are made of. A dim of -1 is unknown (dynamic or not inferable); an absent entry
 * means even the rank is unknown. The pass only needs ranks, the feature size and, where static, the
 * sequence length, so this stays deliberately small instead of re-implementing ONNX shape inference.
 */
public final class Shapes {
    private final Graph graph;
    private final Map<String, long[]> known = new HashMap<>();

    Shapes(Graph graph) {
        this.graph = graph;
        for (OnnxMl.TensorProto t : graph.proto().getInitializerList()) known.put(t.getName(), dims(t));
        for (OnnxMl.ValueInfoProto v : graph.proto().getInputList()) declared(v);
        for (OnnxMl.ValueInfoProto v : graph.proto().getValueInfoList()) declared(v);
        for (OnnxMl.ValueInfoProto v : graph.proto().getOutputList()) declared(v);
        for (NodeProto n : graph.nodes()) {
            try {
                infer(n);
            } catch (RuntimeException e) {
                // malformed attributes: leave the outputs unknown; the matcher then says "rank unknown"
            }
        }
    }

    /** The shape of {@code tensor} (dims -1 where unknown), if at least its rank is known. */
    public Optional<long[]> of(String tensor) {
        long[] s = known.get(tensor);
        if (s != null) return Optional.of(s.clone());
        if (graph.producer(tensor).isPresent()) return Optional.empty();
        return graph.parent().flatMap(p -> p.shapes().of(tensor));
    }

    private void declared(OnnxMl.ValueInfoProto v) {
        if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) return;
        List<OnnxMl.TensorShapeProto.Dimension> dl = v.getType().getTensorType().getShape().getDimList();
        long[] d = new long[dl.size()];
        for (int i = 0; i < d.length; i++) d[i] = dl.get(i).hasDimValue() ? dl.get(i).getDimValue() : -1;
        known.merge(v.getName(), d, Shapes::moreKnown);
    }

    private static long[] moreKnown(long[] a, long[] b) {
        if (a.length != b.length) return a;
        long[] m = a.clone();
        for (int i = 0; i < m.length; i++) if (m[i] < 0) m[i] = b[i];
        return m;
    }

    private static long[] dims(OnnxMl.TensorProto t) {
        return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    private long[] in(NodeProto n, int i) {
        if (i >= n.getInputCount() || n.getInput(i).isEmpty()) return null;
        return of(n.getInput(i)).orElse(null);
    }

    private void set(NodeProto n, int i, long[] shape) {
        if (shape != null && i < n.getOutputCount() && !n.getOutput(i).isEmpty()) {
            known.merge(n.getOutput(i), shape, Shapes::moreKnown);
        }
    }

    private void infer(NodeProto n) {
        String op = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx") ? n.getOpType() : "";
        long[] a = in(n, 0);
        switch (op) {
            case "Constant" -> constant(n);
            case "MatMul" -> set(n, 0, matmul(a, in(n, 1)));
            case "Gemm" -> set(n, 0, gemm(n, a, in(n, 1)));
            case "Transpose" -> set(n, 0, transpose(n, a));
            case "Reshape" -> set(n, 0, reshapeOutput(n, a));
            case "Unsqueeze" -> set(n, 0, unsqueeze(n, a));
            case "Squeeze" -> set(n, 0, squeeze(n, a));
            case "Gather" -> set(n, 0, gather(n, a, in(n, 1)));
            case "Concat" -> set(n, 0, concat(n, a));
            case "Slice", "Pad", "Resize", "Upsample" -> set(n, 0, unknownDims(a));
            case "Split" -> { for (int i = 0; i < n.getOutputCount(); i++) set(n, i, unknownDims(a)); }
            case "Shape" -> set(n, 0, a == null ? null : new long[] {a.length});
            case "Flatten" -> set(n, 0, flatten(n, a));
            case "Conv" -> set(n, 0, conv(n, a, in(n, 1)));
            case "GlobalAveragePool", "GlobalMaxPool" -> set(n, 0, globalPool(a));
            default -> set(n, 0, elementwiseOrReduce(n, op, a));
        }
    }

    private void constant(NodeProto n) {
        for (OnnxMl.AttributeProto at : n.getAttributeList()) {
            switch (at.getName()) {
                case "value" -> set(n, 0, dims(at.getT()));
                case "value_float", "value_int" -> set(n, 0, new long[0]);
                case "value_floats" -> set(n, 0, new long[] {at.getFloatsCount()});
                case "value_ints" -> set(n, 0, new long[] {at.getIntsCount()});
                default -> { }
            }
        }
    }

    private static long[] gemm(NodeProto n, long[] a, long[] b) {
        if (a == null || b == null || a.length != 2 || b.length != 2) return new long[] {-1, -1};
        return new long[] {Attrs.i(n, "transA", 0) == 0 ? a[0] : a[1], Attrs.i(n, "transB", 0) == 0 ? b[1] : b[0]};
    }

    static long[] transpose(NodeProto n, long[] a) {
        if (a == null) return null;
        long[] perm = Attrs.ints(n, "perm");
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[perm == null ? a.length - 1 - i : (int) perm[i]];
        return out;
    }

    /** Ranks above this in a shape hint are treated as unknown (ONNX Runtime's kernels stop far below it). */
    public static final int MAX_PLAUSIBLE_RANK = 1024;

    private long[] reshapeOutput(NodeProto n, long[] a) {
        long[] target = ConstantValues.longs(graph, n.getInput(1)).orElse(null);
        long[] targetShape = in(n, 1);
        if (target == null && targetShape != null && targetShape.length == 1 && targetShape[0] >= 0) {
            // shape computed at run time: its length still fixes the rank, unless a value_info claims an absurd one
            // (a fuzzed hint of 2^31 - 1 elements, which ORT ignores): then the rank is unknown too
            if (targetShape[0] > MAX_PLAUSIBLE_RANK) return null;
            long[] out = new long[(int) targetShape[0]];
            Arrays.fill(out, -1);
            return out;
        }
        return reshape(a, target, Attrs.i(n, "allowzero", 0));
    }

    /** The axes of Unsqueeze/Squeeze: an input from opset 13, an attribute before. */
    private long[] axes(NodeProto n) {
        return n.getInputCount() > 1 ? ConstantValues.longs(graph, n.getInput(1)).orElse(null) : Attrs.ints(n, "axes");
    }

    private long[] unsqueeze(NodeProto n, long[] a) { return unsqueeze(a, axes(n)); }

    static long[] unsqueeze(long[] a, long[] axes) {
        if (a == null || axes == null) return null;
        int r = a.length + axes.length;
        long[] out = new long[r];
        boolean[] isNew = new boolean[r];
        for (long ax : axes) isNew[(int) (ax < 0 ? ax + r : ax)] = true;
        for (int i = 0, j = 0; i < r; i++) out[i] = isNew[i] ? 1 : a[j++];
        return out;
    }

    private long[] squeeze(NodeProto n, long[] a) { return squeeze(a, axes(n)); }

    static long[] squeeze(long[] a, long[] axes) {
        if (a == null || axes == null) return null;
        boolean[] drop = new boolean[a.length];
        for (long ax : axes) drop[(int) (ax < 0 ? ax + a.length : ax)] = true;
        return java.util.stream.IntStream.range(0, a.length).filter(i -> !drop[i]).mapToLong(i -> a[i]).toArray();
    }

    private static long[] gather(NodeProto n, long[] a, long[] idx) {
        if (a == null || idx == null) return null;
        int axis = (int) Attrs.i(n, "axis", 0);
        if (axis < 0) axis += a.length;
        long[] out = new long[a.length - 1 + idx.length];
        int k = 0;
        for (int i = 0; i < axis; i++) out[k++] = a[i];
        for (long d : idx) out[k++] = d;
        for (int i = axis + 1; i < a.length; i++) out[k++] = a[i];
        return out;
    }

    private long[] concat(NodeProto n, long[] a) {
        if (a == null) return null;
        int axis = (int) Attrs.i(n, "axis", 0);
        if (axis < 0) axis += a.length;
        long[] out = a.clone();
        for (int i = 1; i < n.getInputCount(); i++) {
            long[] b = in(n, i);
            out[axis] = (b == null || b.length != a.length || out[axis] < 0 || b[axis] < 0) ? -1 : out[axis] + b[axis];
        }
        return out;
    }

    /** The rank of {@code a} with every dim unknown (ops whose sizes depend on run-time values). */
    private static long[] unknownDims(long[] a) {
        if (a == null) return null;
        long[] out = new long[a.length];
        Arrays.fill(out, -1);
        return out;
    }

    static long[] flatten(NodeProto n, long[] a) {
        if (a == null) return null;
        int axis = (int) Attrs.i(n, "axis", 1);
        if (axis < 0) axis += a.length;
        return new long[] {product(a, 0, axis), product(a, axis, a.length)};
    }

    private static long[] globalPool(long[] a) {
        if (a == null) return null;
        long[] out = a.clone();
        for (int i = 2; i < out.length; i++) out[i] = 1;
        return out;
    }

    private long[] elementwiseOrReduce(NodeProto n, String op, long[] a) {
        if (OpSets.ELEMENTWISE_UNARY.contains(op)) return a;
        if (OpSets.ELEMENTWISE_BROADCAST.contains(op)) {
            long[] out = a;
            for (int i = 1; i < n.getInputCount(); i++) out = broadcast(out, in(n, i));
            return out;
        }
        return OpSets.REDUCE.contains(op) ? reduce(n, a) : null;
    }

    private long[] reduce(NodeProto n, long[] a) {
        if (a == null) return null;
        long[] axes = n.getInputCount() > 1 ? ConstantValues.longs(graph, n.getInput(1)).orElse(null) : Attrs.ints(n, "axes");
        boolean keep = Attrs.i(n, "keepdims", 1) != 0;
        boolean[] red = new boolean[a.length];
        if (axes == null || axes.length == 0) Arrays.fill(red, true);
        else for (long ax : axes) red[(int) (ax < 0 ? ax + a.length : ax)] = true;
        return java.util.stream.IntStream.range(0, a.length).filter(i -> keep || !red[i]).mapToLong(i -> red[i] ? 1 : a[i]).toArray();
    }

    static long product(long[] a, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            if (a[i] < 0) return -1;
            p *= a[i];
        }
        return p;
    }

    static long[] broadcast(long[] a, long[] b) {
        if (a == null || b == null) return null;
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            out[i] = x == 1 ? y : (y == 1 ? x : (x == y ? x : (x < 0 ? y : x)));
        }
        return out;
    }

    private static long[] matmul(long[] a, long[] b) {
        if (a == null || b == null || a.length < 2 || b.length < 2) return null;
        long[] la = Arrays.copyOf(a, a.length - 2);
        long[] lb = Arrays.copyOf(b, b.length - 2);
        long[] lead = broadcast(la, lb);
        long[] out = Arrays.copyOf(lead, lead.length + 2);
        out[lead.length] = a[a.length - 2];
        out[lead.length + 1] = b[b.length - 1];
        return out;
    }

    static long[] reshape(long[] a, long[] target, long allowZero) {
        if (target == null) return null;
        long[] out = target.clone();
        int minus = -1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0 && allowZero == 0) out[i] = (a != null && i < a.length) ? a[i] : -1;
            else if (out[i] == -1) minus = i;
        }
        if (minus >= 0) {
            long total = a == null ? -1 : product(a, 0, a.length);
            long rest = 1;
            for (int i = 0; i < out.length; i++) {
                if (i == minus) continue;
                if (out[i] < 0) { rest = -1; break; }
                rest *= out[i];
            }
            out[minus] = (total < 0 || rest <= 0) ? -1 : total / rest;
        }
        return out;
    }

    private static long[] conv(NodeProto n, long[] x, long[] w) {
        if (x == null || w == null || x.length < 3) return null;
        long[] out = new long[x.length];
        out[0] = x[0];
        out[1] = w[0];
        int spatial = x.length - 2;
        long[] kernel = Attrs.ints(n, "kernel_shape");
        long[] strides = Attrs.ints(n, "strides");
        long[] pads = Attrs.ints(n, "pads");
        long[] dil = Attrs.ints(n, "dilations");
        String autoPad = Attrs.s(n, "auto_pad", "NOTSET");
        for (int i = 0; i < spatial; i++) {
            long in = x[2 + i];
            long k = kernel != null ? kernel[i] : (w.length == x.length ? w[2 + i] : -1);
            long s = strides != null ? strides[i] : 1;
            long d = dil != null ? dil[i] : 1;
            if (in < 0 || k < 0) { out[2 + i] = -1; continue; }
            if (autoPad.startsWith("SAME")) { out[2 + i] = (in + s - 1) / s; continue; }
            long p = pads != null ? pads[i] + pads[i + spatial] : 0;
            out[2 + i] = (in + p - d * (k - 1) - 1) / s + 1;
        }
        return out;
    }
}
