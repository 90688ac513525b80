package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pins the serialized FunctionProtos (name, doc string, node order, constants) of the Haar ops,
 * TokenPrecision and MixedPrecisionQdq over a grid of attributes and opsets: rewritten models must stay
 * byte-identical when the ops' code is refactored. The digest was recorded from the code before the
 * SequenceTransform redesign. It only uses the historical entry points on purpose, so the same grid
 * runs unchanged against old and new code. A deliberate change of a body must update {@link #DIGEST}
 * (and say so: every model the compiler writes changes with it).
 */
class FunctionBodyGoldenTest {
    static final String DIGEST = "1e27f22f7085ceebc59e304d696ad99e576546d025b91860a1f0ec92107702fe";
    static final int FUNCTIONS = 2884;

    static final int[] OPSETS = {11, 13, 18, 21};

    static List<StampOp> grid() {
        List<StampOp> ops = new ArrayList<>();
        ops.add(MixedPrecisionQdq.INSTANCE);
        for (int levels = 0; levels <= 5; levels++) {
            for (int sink = 0; sink <= 2; sink++) {
                List<SequenceLayout> layouts = new ArrayList<>();
                SequenceLayout l1 = SequenceLayout.haar1d(levels, sink);
                layouts.add(l1);
                ops.add(SequenceTransforms.forward(l1));
                ops.add(SequenceTransforms.inverse(l1));
                for (int h : new int[] {1, 4, 14}) {
                    SequenceLayout l2 = SequenceLayout.haar2d(levels, sink, h);
                    layouts.add(l2);
                    ops.add(SequenceTransforms.forward(l2));
                    ops.add(SequenceTransforms.inverse(l2));
                }
                for (SequenceLayout l : layouts) {
                    for (SequenceLayout q : List.of(l, l.identityOf())) {
                        for (int k : new int[] {0, 5, 64}) ops.add(new TokenPrecision(q, 8, 4, k));
                    }
                    ops.add(new TokenPrecision(l, 6, 3, 0));
                    int b2 = l.is2d() ? 1 << (2 * levels) : 1 << levels;
                    int[] table = new int[b2];
                    for (int c = 0; c < b2; c++) table[c] = 2 + (c * 5) % 7;
                    ops.add(TokenPrecision.withTable(l, 8, table));
                }
            }
        }
        return ops;
    }

    /** SHA-256 over every (function name, op name, description, serialized body) in grid order, and the count. */
    static String digest(List<StampOp> ops, int[] count) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (StampOp op : ops) {
            for (int opset : OPSETS) {
                OnnxMl.FunctionProto f = op.function(opset);
                md.update((op.functionName() + "\n" + op.opName() + "\n" + op.describe() + "\n" + op.inputs() + op.outputs() + "\n")
                        .getBytes(StandardCharsets.UTF_8));
                md.update(f.toByteArray());
                count[0]++;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void existingFunctionBodiesAreByteIdentical() throws Exception {
        int[] count = {0};
        String d = digest(grid(), count);
        assertEquals(FUNCTIONS, count[0], "functions in the grid");
        assertEquals(DIGEST, d, "serialized function bodies changed");
    }
}
