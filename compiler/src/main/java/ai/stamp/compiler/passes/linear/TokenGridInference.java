package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.ConstantValues;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.OpSets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Finds image-token grids: a Conv output [N, C, H, W] flattened to [N, C, H*W] and transposed to tokens
 * [N, H*W, C] (a patchify stem), then follows those tokens forward through the ops a transformer block
 * is made of, so each linear layer that reads them learns its grid (H static; W may be dynamic) and how
 * many tokens were concatenated in front of the patches ([CLS], registers). Only reads the graph.
 */
public final class TokenGridInference {
    /** Element-wise ops: broadcasting a constant (bias, position embedding) or another token tensor keeps the layout. */
    private static boolean keepsLayout(String op) {
        return OpSets.ELEMENTWISE_UNARY.contains(op) || OpSets.ELEMENTWISE_BROADCAST.contains(op);
    }

    /**
     * A token layout: tokens on {@code axis} of a rank-{@code rank} tensor are {@code prefixTokens}
     * extra tokens followed by a row-major grid of {@code height} x {@code width} (width -1: dynamic).
     */
    public record TokenGrid(int height, int width, int prefixTokens, int axis, int rank) {
        TokenGrid withAxis(int newAxis, int newRank) { return new TokenGrid(height, width, prefixTokens, newAxis, newRank); }
    }

    /**
     * Largest grid side taken from a graph's static shapes. Real patch grids are tens to a few hundred tokens a
     * side; a side beyond this comes from a malformed or adversarial shape and would make the padded grid
     * (and the emitted Pad) absurd, so no grid is inferred from it (the layer then says to pass --grid).
     */
    static final long MAX_GRID_SIDE = 1 << 14;

    private TokenGridInference() {}

    private static boolean plausibleSide(long side) { return side > 0 && side <= MAX_GRID_SIDE; }

    /** Grid per tensor name, for tensors whose token axis is second to last (where linear layers read it). */
    public static Map<String, TokenGrid> infer(Graph graph) {
        Map<String, TokenGrid> grids = new HashMap<>();
        Map<String, long[]> spatial = new HashMap<>(); // Conv-like maps [N, C, H, W] → {H, W}
        Map<String, long[]> flattened = new HashMap<>(); // [N, C, H*W] → {H, W}
        for (NodeProto n : graph.nodes()) {
            if (!n.getDomain().isEmpty() || n.getOutputCount() == 0) continue;
            String op = n.getOpType();
            String out = n.getOutput(0);
            long[] outShape = graph.shapes().of(out).orElse(null);
            if (op.equals("Conv") && outShape != null && outShape.length == 4 && plausibleSide(outShape[2]) && (outShape[3] < 0 || plausibleSide(outShape[3]))) {
                spatial.put(out, new long[] {outShape[2], outShape[3]});
                continue;
            }
            if (n.getInputCount() == 0) continue;
            String in = n.getInput(0);
            if (spatial.containsKey(in)) {
                if (keepsLayout(op)) spatial.put(out, spatial.get(in));
                else if ((op.equals("Flatten") && Attrs.i(n, "axis", 1) == 2) || (op.equals("Reshape") && outShape != null && outShape.length == 3)) {
                    flattened.put(out, spatial.get(in));
                }
                continue;
            }
            if (flattened.containsKey(in)) {
                long[] perm = Attrs.ints(n, "perm");
                if (op.equals("Transpose") && perm != null && perm.length == 3 && perm[0] == 0 && perm[1] == 2 && perm[2] == 1) {
                    long[] hw = flattened.get(in);
                    grids.put(out, new TokenGrid((int) hw[0], (int) hw[1], 0, 1, 3));
                }
                continue;
            }
            propagate(graph, n, grids).ifPresent(g -> grids.put(out, g));
        }
        Map<String, TokenGrid> atSecondToLast = new HashMap<>();
        grids.forEach((name, g) -> { if (g.axis() == g.rank() - 2) atSecondToLast.put(name, g); });
        return atSecondToLast;
    }

    /** The layout of a node's first output when one of its inputs carries tokens, if the op keeps it. */
    private static Optional<TokenGrid> propagate(Graph graph, NodeProto n, Map<String, TokenGrid> grids) {
        String op = n.getOpType();
        TokenGrid g = null;
        int from = -1;
        for (int i = 0; i < n.getInputCount(); i++) {
            if (grids.containsKey(n.getInput(i))) { g = grids.get(n.getInput(i)); from = i; break; }
        }
        if (g == null) return Optional.empty();
        long[] outShape = graph.shapes().of(n.getOutput(0)).orElse(null);
        switch (op) {
            case "MatMul":
                // tokens stay on axis -2 when they come in as the left operand (projection, QK^T, PV)
                return from == 0 && g.axis() == g.rank() - 2 ? Optional.of(g) : Optional.empty();
            case "Transpose": {
                long[] perm = Attrs.ints(n, "perm");
                if (perm == null) return Optional.empty();
                for (int i = 0; i < perm.length; i++) if (perm[i] == g.axis()) return Optional.of(g.withAxis(i, perm.length));
                return Optional.empty();
            }
            case "Reshape": {
                // splitting or merging the feature axes after the token axis (multi-head attention) keeps it
                if (outShape == null) return Optional.empty();
                int r = outShape.length;
                boolean splitLast = r == g.rank() + 1 && g.axis() < g.rank() - 1;
                boolean mergeLast = r == g.rank() - 1 && g.axis() < g.rank() - 2;
                if (!splitLast && !mergeLast) return Optional.empty();
                // ...and only those: the axes up to the token axis keep their sizes where the shapes know them
                long[] inShape = graph.shapes().of(n.getInput(from)).orElse(null);
                if (inShape != null && inShape.length == g.rank()) {
                    for (int i = 0; i <= g.axis(); i++) {
                        if (inShape[i] >= 0 && outShape[i] >= 0 && inShape[i] != outShape[i]) return Optional.empty();
                    }
                }
                return Optional.of(g.withAxis(g.axis(), r));
            }
            case "Concat": {
                int axis = (int) Attrs.i(n, "axis", 0);
                if (axis < 0) axis += g.rank();
                if (axis != g.axis()) return Optional.of(g);
                // tokens concatenated in front of the grid ([CLS]) become prefix tokens; anything else breaks the grid
                int prefix = 0;
                for (int i = 0; i < from; i++) {
                    long[] s = graph.shapes().of(n.getInput(i)).orElse(null);
                    if (s == null || s.length != g.rank() || s[axis] < 0) return Optional.empty();
                    prefix += (int) s[axis];
                }
                if (from != n.getInputCount() - 1) return Optional.empty();
                return Optional.of(new TokenGrid(g.height(), g.width(), g.prefixTokens() + prefix, g.axis(), g.rank()));
            }
            case "ReduceMean", "ReduceSum", "ReduceMax": {
                long[] axes = n.getInputCount() > 1 ? ConstantValues.longs(graph, n.getInput(1)).orElse(null) : Attrs.ints(n, "axes");
                boolean keep = Attrs.i(n, "keepdims", 1) != 0;
                if (axes == null || !keep) return Optional.empty();
                for (long a : axes) if ((a < 0 ? a + g.rank() : a) == g.axis()) return Optional.empty();
                return Optional.of(g);
            }
            default:
                if (!keepsLayout(op)) return Optional.empty();
                // broadcasting another token tensor or a constant (bias, position embedding) keeps the layout
                if (outShape != null && outShape.length != g.rank()) return Optional.empty();
                return Optional.of(g);
        }
    }
}
