package ai.stamp.tools;

import static ai.stamp.tools.CliTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.TinyGraphs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** inspect names the graph of every node, keeps same-named nodes of different branches apart, and invents no rows. */
class InspectListingTest {
    @TempDir Path dir;

    private static List<String> rows(CliTest.Run r) {
        return r.out().lines().filter(l -> l.startsWith("REWRITE ") || l.startsWith("skip ") || l.startsWith("INT8 ")).toList();
    }

    /** Renames every node of the two If branches to {@code name}. */
    private static OnnxMl.ModelProto sameNamesInBothBranches(String name) {
        OnnxMl.ModelProto m = TinyGraphs.linearInsideIf(13, 8, 3);
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = 0; i < g.getNodeCount(); i++) {
            OnnxMl.NodeProto.Builder n = g.getNode(i).toBuilder();
            for (int a = 0; a < n.getAttributeCount(); a++) {
                if (!n.getAttribute(a).hasG()) continue;
                OnnxMl.GraphProto.Builder b = n.getAttribute(a).getG().toBuilder();
                for (int k = 0; k < b.getNodeCount(); k++) {
                    if (b.getNode(k).getOpType().equals("MatMul")) b.setNode(k, b.getNode(k).toBuilder().setName(name));
                }
                n.setAttribute(a, n.getAttribute(a).toBuilder().setG(b));
            }
            g.setNode(i, n);
        }
        return m.toBuilder().setGraph(g).build();
    }

    @Test
    void eachNodeOfAnIfBranchIsListedWithItsBranch() throws Exception {
        Path in = Files.write(dir.resolve("if.onnx"), sameNamesInBothBranches("linear").toByteArray());
        CliTest.Run r = cli("inspect", in.toString());
        assertEquals(0, r.code(), r.err());
        List<String> rows = rows(r);
        assertEquals(2, rows.size(), r.out());
        assertTrue(rows.get(0).contains(" linear ") && rows.get(0).contains("main/if.then_branch"), rows.get(0));
        assertTrue(rows.get(1).contains(" linear ") && rows.get(1).contains("main/if.else_branch"), rows.get(1));
        assertEquals(rows.get(0).indexOf("main/"), rows.get(1).indexOf("main/"), "aligned:\n" + r.out());
    }

    @Test
    void unnamedNodesGetNoPhantomRowAndTheColumnsLineUp() throws Exception {
        OnnxMl.ModelProto m = TinyGraphs.encoderBlock(13, 16, 5);
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        long linear = 0;
        for (int i = 0; i < g.getNodeCount(); i++) {
            g.setNode(i, g.getNode(i).toBuilder().clearName());
            if (g.getNode(i).getOpType().equals("MatMul") || g.getNode(i).getOpType().equals("Gemm")) linear++;
        }
        Path in = Files.write(dir.resolve("unnamed.onnx"), m.toBuilder().setGraph(g).build().toByteArray());
        CliTest.Run r = cli("inspect", in.toString());
        assertEquals(0, r.code(), r.err());
        List<String> rows = rows(r);
        assertFalse(r.out().contains("not in the report"), r.out());
        assertEquals(linear, rows.size(), r.out());
        assertTrue(rows.stream().anyMatch(l -> l.startsWith("REWRITE")), r.out());
        int graphColumn = rows.get(0).indexOf("  main  ");
        assertTrue(graphColumn > 0, rows.get(0));
        for (String row : rows) assertEquals(graphColumn, row.indexOf("  main  "), "aligned:\n" + r.out());
    }
}
