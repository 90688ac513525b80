package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Computes in Java the value of a constant reached through ops that only move its values or widen them to float32:
 * an initializer or a Constant node's tensor (of the graph or an enclosing one) of float16, float32 or float64,
 * behind any chain of Identity, Transpose, Reshape (constant shape), Squeeze, Unsqueeze, Flatten and Cast to float
 * (the way exporters store a weight: PyTorch's {@code Linear} as {@code Transpose(W [N, D])}, a float16 model as
 * {@code Cast(W16)}). {@link #fold} resolves and checks the chain without reading the values;
 * {@link Folded#values()} computes them. A fold lists what it read, so a caller can drop what nothing else reads.
 */
public final class ConstantFolder {
    /** The ops a fold evaluates besides Constant. */
    public static final Set<String> FOLDED_OPS = OpSets.WEIGHT_PATH;
    /** The longest chain of ops folded. */
    static final int MAX_OPS = 16;

    private ConstantFolder() {}

    /** {@link Folded}, or {@link Unfoldable} with the reason. */
    public sealed interface Outcome permits Folded, Unfoldable {}

    /** Why not: "'{tensor}' {problem}", {@code tensor} being the folded one or one on the way to its source. */
    public record Unfoldable(String tensor, String problem) implements Outcome {}

    /**
     * A tensor a fold read, in the graph that defines it.
     *
     * @param producer its node (a Constant or a folded op), or null for an initializer
     * @param data     on the path of the values (the folded tensor, each op's first input, the source); else a
     *                 Reshape's shape or the axes of a Squeeze/Unsqueeze
     */
    public record Read(Graph graph, String tensor, NodeProto producer, boolean data) {}

    /** A constant's value: its element type and dims, what was read, and (on demand) the values. */
    public static final class Folded implements Outcome {
        private final String source;
        private final TensorProto sourceValue;
        private final List<Permutation> permutations;
        private final int type;
        private final long[] dims;
        private final List<Read> reads;

        private Folded(String source, TensorProto sourceValue, List<Permutation> permutations, int type, long[] dims, List<Read> reads) {
            this.source = source;
            this.sourceValue = sourceValue;
            this.permutations = List.copyOf(permutations);
            this.type = type;
            this.dims = dims;
            this.reads = List.copyOf(reads);
        }

        /** The element type of the folded tensor (a TensorProto.DataType number). */
        public int type() { return type; }

        public long[] dims() { return dims.clone(); }

        /** Every tensor read, from the folded one to the source. */
        public List<Read> reads() { return reads; }

        /** The initializer or Constant output that holds the values. */
        public String source() { return source; }

        /** The source's values are external data: {@link #values()} cannot read them. */
        public boolean external() { return sourceValue.getDataLocation() == TensorProto.DataLocation.EXTERNAL; }

        /** The folded tensor's values, row-major, as float32. */
        public float[] values() {
            float[] v = Tensors.readAsFloats(sourceValue).orElseThrow(() -> new IllegalStateException("the values of '" + source
                    + "' are " + (external() ? "external data" : "unreadable") + ": check external() first"));
            for (Permutation p : permutations) v = Tensors.permute(v, p.inputDims(), p.perm());
            return v;
        }
    }

    /** A Transpose on the way: the values it permutes have {@code inputDims}. */
    private record Permutation(long[] inputDims, int[] perm) {}

    /** A folded op and its constant second operand (a shape or axes), if it has one; null when that is not a constant. */
    private record Step(NodeProto node, boolean hasOperand, long[] operand) {}

    /** Folds {@code tensor} as {@code graph} reads it. */
    public static Outcome fold(Graph graph, String tensor) {
        List<Read> reads = new ArrayList<>();
        List<Step> steps = new ArrayList<>();
        Graph g = graph;
        String t = tensor;
        while (true) {
            Optional<Graph> holder = g.definingGraph(t);
            if (holder.isEmpty()) return new Unfoldable(t, g.isGraphInput(t) ? "is a graph input" : "is not a constant");
            g = holder.get();
            Optional<NodeProto> producer = g.producer(t);
            reads.add(new Read(g, t, producer.orElse(null), true));
            if (producer.isEmpty()) return fromSource(t, g.initializer(t).orElseThrow(), steps, reads);
            NodeProto n = producer.get();
            boolean standard = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
            if (standard && n.getOpType().equals("Constant")) {
                Optional<TensorProto> value = constantValue(n);
                if (value.isEmpty()) return new Unfoldable(t, "is a Constant without a floating-point tensor");
                return fromSource(t, value.get(), steps, reads);
            }
            if (!standard || !FOLDED_OPS.contains(n.getOpType())) {
                return new Unfoldable(t, "is computed by a " + (standard ? "" : n.getDomain() + ".") + n.getOpType()
                        + " node, which is not folded into a constant");
            }
            if (steps.size() == MAX_OPS) return new Unfoldable(tensor, "is reached through more than " + MAX_OPS + " ops");
            if (n.getInputCount() == 0 || n.getInput(0).isEmpty()) return new Unfoldable(t, "is computed by a " + n.getOpType() + " node without input");
            steps.add(step(g, n, reads));
            t = n.getInput(0);
        }
    }

    /** {@code n} with its second operand read when it has one (Reshape's shape; the axes input of Squeeze/Unsqueeze from opset 13). */
    private static Step step(Graph g, NodeProto n, List<Read> reads) {
        boolean takesOperand = Set.of("Reshape", "Squeeze", "Unsqueeze").contains(n.getOpType());
        if (!takesOperand || n.getInputCount() < 2 || n.getInput(1).isEmpty()) return new Step(n, false, null);
        String name = n.getInput(1);
        Optional<Graph> holder = g.definingGraph(name);
        if (holder.isEmpty()) return new Step(n, true, null);
        reads.add(new Read(holder.get(), name, holder.get().producer(name).orElse(null), false));
        return new Step(n, true, ConstantValues.longs(holder.get(), name).orElse(null));
    }

    /** The tensor of a Constant node of floats ({@code value}, {@code value_float}, {@code value_floats}). */
    private static Optional<TensorProto> constantValue(NodeProto n) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            switch (a.getName()) {
                case "value":
                    return a.hasT() ? Optional.of(a.getT()) : Optional.empty();
                case "value_float":
                    return Optional.of(Tensors.floatTensor(new float[] {a.getF()}));
                case "value_floats": {
                    float[] v = new float[a.getFloatsCount()];
                    for (int i = 0; i < v.length; i++) v[i] = a.getFloats(i);
                    return Optional.of(Tensors.floatTensor(v, v.length));
                }
                default:
                    break;
            }
        }
        return Optional.empty();
    }

    /** The fold from the source {@code value} (named {@code name}) up through {@code steps} (listed from the top). */
    private static Outcome fromSource(String name, TensorProto value, List<Step> steps, List<Read> reads) {
        int type = value.getDataType();
        if (!Tensors.isFloatingPoint(type)) return new Unfoldable(name, "holds " + Tensors.typeName(type) + " values, not floating point");
        long count = Tensors.numel(value);
        if (count < 0 || count > Integer.MAX_VALUE - 8) return new Unfoldable(name, "has " + count + " values (up to 2^31 are folded)");
        if (value.getDataLocation() != TensorProto.DataLocation.EXTERNAL && Tensors.storedValues(value) != count) {
            return new Unfoldable(name, "holds " + Tensors.storedValues(value) + " values, its shape says " + count);
        }
        long[] dims = Tensors.dims(value);
        List<Permutation> permutations = new ArrayList<>();
        for (int i = steps.size() - 1; i >= 0; i--) {
            Step s = steps.get(i);
            NodeProto n = s.node();
            String out = n.getOutputCount() == 0 ? "?" : n.getOutput(0);
            long[] next;
            switch (n.getOpType()) {
                case "Identity" -> next = dims;
                case "Cast" -> {
                    long to = Attrs.i(n, "to", 0);
                    if (to != TensorProto.DataType.FLOAT_VALUE) {
                        return new Unfoldable(out, "is a Cast to " + Tensors.typeName((int) to) + " (only a Cast to float is folded)");
                    }
                    type = TensorProto.DataType.FLOAT_VALUE;
                    next = dims;
                }
                case "Transpose" -> {
                    int[] perm = permutation(n, dims.length);
                    if (perm == null) return new Unfoldable(out, "is a Transpose with perm " + Arrays.toString(Attrs.ints(n, "perm")) + " of a rank " + dims.length + " tensor");
                    permutations.add(new Permutation(dims, perm));
                    next = Shapes.transpose(n, dims);
                }
                case "Reshape" -> {
                    if (s.operand() == null) return new Unfoldable(out, "is a Reshape to a shape computed at run time");
                    next = Shapes.reshape(dims, s.operand(), Attrs.i(n, "allowzero", 0));
                    if (Arrays.stream(next).anyMatch(d -> d < 0) || Shapes.product(next, 0, next.length) != count) {
                        return new Unfoldable(out, "is a Reshape of " + Arrays.toString(dims) + " to " + Arrays.toString(s.operand()) + ", which does not fit");
                    }
                }
                case "Squeeze", "Unsqueeze" -> {
                    boolean squeeze = n.getOpType().equals("Squeeze");
                    if (s.hasOperand() && s.operand() == null) return new Unfoldable(out, "is a " + n.getOpType() + " by axes computed at run time");
                    long[] axes = s.hasOperand() ? s.operand() : Attrs.ints(n, "axes");
                    next = squeeze ? squeezed(dims, axes) : unsqueezed(dims, axes);
                    if (next == null) {
                        return new Unfoldable(out, "is a " + n.getOpType() + " of " + Arrays.toString(dims) + " by axes " + Arrays.toString(axes) + ", which do not fit");
                    }
                }
                case "Flatten" -> {
                    long axis = Attrs.i(n, "axis", 1);
                    if (axis < -dims.length || axis > dims.length) return new Unfoldable(out, "is a Flatten at axis " + axis + " of a rank " + dims.length + " tensor");
                    next = Shapes.flatten(n, dims);
                }
                default -> throw new IllegalStateException("not a folded op: " + n.getOpType());
            }
            dims = next;
        }
        return new Folded(name, value, permutations, type, dims, reads);
    }

    /** Transpose's perm (reversed axes by default), or null when it is no permutation of {@code rank} axes. */
    private static int[] permutation(NodeProto n, int rank) {
        long[] perm = Attrs.ints(n, "perm");
        int[] p = new int[rank];
        if (perm == null) {
            for (int i = 0; i < rank; i++) p[i] = rank - 1 - i;
            return p;
        }
        if (perm.length != rank) return null;
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            if (perm[i] < 0 || perm[i] >= rank || seen[(int) perm[i]]) return null;
            seen[(int) perm[i]] = true;
            p[i] = (int) perm[i];
        }
        return p;
    }

    /** {@code dims} without the given axes (each of size 1), or without every axis of size 1 when {@code axes} is null; null when they do not fit. */
    private static long[] squeezed(long[] dims, long[] axes) {
        if (axes == null) return Arrays.stream(dims).filter(d -> d != 1).toArray();
        for (long a : axes) {
            long axis = a < 0 ? a + dims.length : a;
            if (axis < 0 || axis >= dims.length || dims[(int) axis] != 1) return null;
        }
        return Shapes.squeeze(dims, axes);
    }

    /** {@code dims} with axes of size 1 inserted at {@code axes} (of the output), or null when they do not fit. */
    private static long[] unsqueezed(long[] dims, long[] axes) {
        if (axes == null) return null;
        int rank = dims.length + axes.length;
        boolean[] seen = new boolean[rank];
        for (long a : axes) {
            long axis = a < 0 ? a + rank : a;
            if (axis < 0 || axis >= rank || seen[(int) axis]) return null;
            seen[(int) axis] = true;
        }
        return Shapes.unsqueeze(dims, axes);
    }
}
