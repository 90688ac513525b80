package ai.stamp.compiler.rewrite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.testmodels.GraphBuilder;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one recursion into nested bodies: walk order, graph order, scopes. */
class GraphWalkerTest {
    private static NodeProto n(String op, String name, String in, String out, OnnxMl.AttributeProto... attrs) {
        return NodeProto.newBuilder().setOpType(op).setName(name).addInput(in).addOutput(out).addAllAttribute(List.of(attrs)).build();
    }

    private static OnnxMl.GraphProto body(String name, NodeProto... nodes) {
        return OnnxMl.GraphProto.newBuilder().setName(name).addAllNode(List.of(nodes)).build();
    }

    private static OnnxMl.AttributeProto g(String attr, OnnxMl.GraphProto body) { return GraphBuilder.graphAttr(attr, body); }

    /**
     * main: a, ifA { then: t1, ifB { then: u1 | else: v1 }, t2 | else: e1 }, loop { body: l1 }, b.
     */
    private static OnnxMl.GraphProto nested() {
        OnnxMl.GraphProto innerThen = body("innerThen", n("Relu", "u1", "t1o", "u1o"));
        OnnxMl.GraphProto innerElse = body("innerElse", n("Neg", "v1", "t1o", "v1o"));
        OnnxMl.GraphProto outerThen = body("outerThen", n("Relu", "t1", "x", "t1o"),
                n("If", "ifB", "c", "ifBo", g("then_branch", innerThen), g("else_branch", innerElse)), n("Abs", "t2", "ifBo", "t2o"));
        OnnxMl.GraphProto outerElse = body("outerElse", n("Neg", "e1", "x", "e1o"));
        OnnxMl.GraphProto loopBody = body("loopBody", n("Identity", "l1", "x", "l1o"));
        return body("main", n("Relu", "a", "x", "ao"),
                n("If", "ifA", "c", "ifAo", g("then_branch", outerThen), g("else_branch", outerElse)),
                n("Loop", "loop", "m", "lo", g("body", loopBody)),
                n("Neg", "b", "ifAo", "bo"));
    }

    @Test
    void eachBodyIsWalkedRightAfterItsNodeTwoLevelsDeep() {
        GraphWalker.Walk w = GraphWalker.walk(new Graph(nested()));
        assertEquals(List.of("main:a", "main:ifA", "outerThen:t1", "outerThen:ifB", "innerThen:u1", "innerElse:v1", "outerThen:t2",
                        "outerElse:e1", "main:loop", "loopBody:l1", "main:b"),
                w.visits().stream().map(v -> v.graph().proto().getName() + ":" + v.node().getName()).toList());
        assertEquals(List.of("main", "outerThen", "innerThen", "innerElse", "outerElse", "loopBody"),
                w.graphs().stream().map(x -> x.proto().getName()).toList());
        assertEquals(List.of("main", "main/1:then_branch", "main/1:then_branch/1:then_branch", "main/1:then_branch/1:else_branch",
                "main/1:else_branch", "main/2:body"), w.graphs().stream().map(Graph::scope).toList());
        assertEquals(List.of("main", "main/ifA.then_branch", "main/ifA.then_branch/ifB.then_branch", "main/ifA.then_branch/ifB.else_branch",
                "main/ifA.else_branch", "main/loop.body"), w.graphs().stream().map(Graph::path).toList());
    }

    @Test
    void visitsPointIntoTheVeryGraphViewsListedAndBodiesSeeTheirParents() {
        GraphWalker.Walk w = GraphWalker.walk(new Graph(nested()));
        for (GraphWalker.Visit v : w.visits()) {
            assertTrue(w.graphs().stream().anyMatch(x -> x == v.graph()), v.node().getName());
            assertTrue(v.graph().nodes().stream().anyMatch(x -> x == v.node()), v.node().getName());
        }
        List<Graph> gs = w.graphs();
        assertTrue(gs.get(0).parent().isEmpty());
        assertSame(gs.get(0), gs.get(1).parent().orElseThrow());
        assertSame(gs.get(1), gs.get(2).parent().orElseThrow());
        assertSame(gs.get(1), gs.get(3).parent().orElseThrow());
        assertSame(gs.get(0), gs.get(4).parent().orElseThrow());
        assertSame(gs.get(0), gs.get(5).parent().orElseThrow());
        // the inner body reads t1o from its parent and x from the main graph: both outer scope
        assertTrue(gs.get(2).parent().orElseThrow().producer("t1o").isPresent());
        assertEquals(11, w.visits().size());
    }

    @Test
    void scopesAreUniqueWithUnnamedIfNodesAndDuplicateNames() {
        OnnxMl.GraphProto branch = body("br", n("Relu", "r", "x", "ro"));
        NodeProto unnamed1 = NodeProto.newBuilder().setOpType("If").addInput("c").addOutput("o")
                .addAttribute(g("then_branch", branch)).addAttribute(g("else_branch", branch)).build();
        NodeProto unnamed2 = unnamed1.toBuilder().setOutput(0, "p").build();
        NodeProto dup1 = n("If", "same", "c", "q", g("then_branch", branch), g("else_branch", branch));
        NodeProto dup2 = n("If", "same", "c", "s", g("then_branch", branch), g("else_branch", branch));
        NodeProto list = NodeProto.newBuilder().setOpType("Multi").setDomain("custom").setName("same").addOutput("t")
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("bodies").setType(OnnxMl.AttributeProto.AttributeType.GRAPHS)
                        .addGraphs(branch).addGraphs(branch)).build();
        OnnxMl.GraphProto main = OnnxMl.GraphProto.newBuilder().setName("main")
                .addNode(unnamed1).addNode(unnamed2).addNode(dup1).addNode(dup2).addNode(list).build();
        GraphWalker.Walk w = GraphWalker.walk(new Graph(main));
        List<String> scopes = w.graphs().stream().map(Graph::scope).toList();
        assertEquals(List.of("main", "main/0:then_branch", "main/0:else_branch", "main/1:then_branch", "main/1:else_branch",
                "main/2:then_branch", "main/2:else_branch", "main/3:then_branch", "main/3:else_branch", "main/4:bodies[0]", "main/4:bodies[1]"), scopes);
        assertEquals(scopes.size(), new HashSet<>(scopes).size());
        // paths are for people and may repeat; scopes are what edits are keyed by
        assertEquals("main/If(o).then_branch", w.graphs().get(1).path());
        assertEquals("main/same.then_branch", w.graphs().get(5).path());
        assertEquals("main/same.then_branch", w.graphs().get(7).path());
        assertEquals("main/same.bodies[1]", w.graphs().get(10).path());
        assertEquals(15, w.visits().size());
    }

    @Test
    void aGraphWithoutBodiesIsOneGraphAndAnEmptyGraphHasNoVisits() {
        GraphWalker.Walk w = GraphWalker.walk(new Graph(body("main", n("Relu", "a", "x", "y"), n("Neg", "b", "y", "z"))));
        assertEquals(1, w.graphs().size());
        assertEquals(List.of("a", "b"), w.visits().stream().map(v -> v.node().getName()).toList());
        GraphWalker.Walk empty = GraphWalker.walk(new Graph(OnnxMl.GraphProto.getDefaultInstance()));
        assertEquals(List.of("main"), empty.graphs().stream().map(Graph::scope).toList());
        assertEquals(List.of(), empty.visits());
    }
}
