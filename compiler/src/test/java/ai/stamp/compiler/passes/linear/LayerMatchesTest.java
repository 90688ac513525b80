package ai.stamp.compiler.passes.linear;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.rewrite.GraphWalker;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.testmodels.GraphBuilder;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The matcher's verdict on every node, computed once per graph, and what calibration collects from it. */
class LayerMatchesTest {
    private static final LayerSelection EXCLUDE_SKIP = new LayerSelection(Optional.of(Pattern.compile("skip")), false);

    private static OnnxMl.GraphProto branch(String prefix, String act, String weight) {
        return OnnxMl.GraphProto.newBuilder().setName(prefix)
                .addNode(NodeProto.newBuilder().setOpType("MatMul").setName(prefix + "_linear").addInput(act).addInput(weight).addOutput(prefix + "_y"))
                .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(prefix + "_y")).build();
    }

    /**
     * z [2, 6, 4] → l1(z, W1) = a1, l2(z, W2) = a2 → add = s → skip_me(s, W3) = b (excluded) → l4(b, W4) = c →
     * attn(c, s) (run-time operand) → If (then: MatMul(a1, W1), else: MatMul(a2, W2)).
     */
    private static OnnxMl.ModelProto model() {
        GraphBuilder b = new GraphBuilder(5);
        b.input("z", 2, 6, 4);
        b.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond"));
        for (String w : List.of("W1", "W2", "W3", "W4")) b.weight(w, 0.5f, 4, 4);
        b.node("MatMul", "l1", List.of("z", "W1"), List.of("a1"));
        b.node("MatMul", "l2", List.of("z", "W2"), List.of("a2"));
        b.node("Add", "add", List.of("a1", "a2"), List.of("s"));
        b.node("MatMul", "skip_me", List.of("s", "W3"), List.of("b"));
        b.node("MatMul", "l4", List.of("b", "W4"), List.of("c"));
        b.node("MatMul", "attn", List.of("c", "s"), List.of("d"));
        b.node("If", "if", List.of("cond"), List.of("y"), GraphBuilder.graphAttr("then_branch", branch("then", "a1", "W1")),
                GraphBuilder.graphAttr("else_branch", branch("else", "a2", "W2")));
        b.output("y", 2, 6, 4);
        return b.model(17, 8);
    }

    private static String verdict(Match<?> m) {
        if (m instanceof Match.Planned<?>) return "planned";
        if (m instanceof Match.Refused<?> r) return "refused(" + r.refusal().code().id() + ")";
        return "n/a";
    }

    private static String verdicts(LayerMatches lm, Graph g) {
        return g.nodes().stream().map(n -> n.getName() + ":" + verdict(lm.of(g, n))).collect(Collectors.joining(" "));
    }

    @Test
    void everyNodeOfEveryGraphHasItsVerdict() {
        LayerMatches lm = LayerMatches.of(model(), EXCLUDE_SKIP);
        List<Graph> graphs = lm.graphs();
        assertEquals(List.of("main", "main/6:then_branch", "main/6:else_branch"), graphs.stream().map(Graph::scope).toList());
        assertEquals("l1:planned l2:planned add:n/a skip_me:refused(excluded) l4:planned attn:refused(runtime-operand) if:n/a",
                verdicts(lm, graphs.get(0)));
        assertEquals("then_linear:planned", verdicts(lm, graphs.get(1)));
        assertEquals("else_linear:planned", verdicts(lm, graphs.get(2)));
        assertEquals(List.of("l1", "l2", "l4"), lm.layers(graphs.get(0)).stream().map(LinearLayer::name).toList());
        assertEquals(List.of("then_linear"), lm.layers(graphs.get(1)).stream().map(LinearLayer::name).toList());
        assertEquals(List.of("l1", "l2", "add", "skip_me", "l4", "attn", "if", "then_linear", "else_linear"),
                lm.visits().stream().map(v -> v.node().getName()).toList());
    }

    @Test
    void verdictsAreComputedOnceAndLayersPointIntoTheListedGraphViews() {
        OnnxMl.ModelProto m = model();
        LayerMatches lm = LayerMatches.of(m, EXCLUDE_SKIP);
        for (GraphWalker.Visit v : lm.visits()) {
            Match<LinearLayer> first = lm.of(v.graph(), v.node());
            assertSame(first, lm.of(v.graph(), v.node()), v.node().getName());
            if (first instanceof Match.Planned<LinearLayer> p) {
                assertSame(v.graph(), p.plan().graph(), "the layer lives in the very view the walk listed");
                assertSame(v.node(), p.plan().node());
            }
        }
        // another view of the same graph (same scope) finds the same verdicts
        Graph again = new Graph(m.getGraph());
        NodeProto l1 = m.getGraph().getNode(0);
        assertSame(lm.of(lm.graphs().get(0), l1), lm.of(again, l1));
        Graph thenAgain = again.subgraphs(m.getGraph().getNode(6)).get(0);
        NodeProto thenLinear = thenAgain.nodes().get(0);
        assertSame(lm.of(lm.graphs().get(1), thenLinear), lm.of(thenAgain, thenLinear));
        // a verdict belongs to its graph: a body's node has none in the main graph or the other branch
        assertNull(lm.of(lm.graphs().get(0), thenLinear));
        assertNull(lm.of(lm.graphs().get(2), thenLinear));
    }

    @Test
    void oneNodeProtoInTwoBodiesHasAVerdictPerGraph() {
        OnnxMl.GraphProto shared = branch("shared", "x", "W");
        GraphBuilder b = new GraphBuilder(1);
        b.input("x", 2, 6, 4);
        b.weight("W", 0.5f, 4, 4);
        b.node("If", "if1", List.of("c1"), List.of("y1"), GraphBuilder.graphAttr("then_branch", shared), GraphBuilder.graphAttr("else_branch", shared));
        b.node("If", "if2", List.of("c2"), List.of("y2"), GraphBuilder.graphAttr("then_branch", shared), GraphBuilder.graphAttr("else_branch", shared));
        LayerMatches lm = LayerMatches.of(b.model(17, 8), EXCLUDE_SKIP);
        List<Graph> bodies = lm.graphs().subList(1, 5);
        assertEquals(List.of("main/0:then_branch", "main/0:else_branch", "main/1:then_branch", "main/1:else_branch"),
                bodies.stream().map(Graph::scope).toList());
        NodeProto node = shared.getNode(0);
        for (int i = 0; i < bodies.size(); i++) {
            Graph g = bodies.get(i);
            assertSame(node, g.nodes().get(0), "the very same NodeProto");
            LinearLayer layer = lm.of(g, node) instanceof Match.Planned<LinearLayer> p ? p.plan() : null;
            assertSame(g, layer.graph(), "each verdict points into its own graph");
            for (int j = 0; j < i; j++) assertNotSame(lm.of(bodies.get(j), node), lm.of(g, node));
        }
        assertEquals(List.of(), lm.mainGraphActivations(), "body layers are not collected");
    }

    @Test
    void mainGraphActivationsAreInGraphOrderOnceEachWithoutExcludedOrNestedLayers() {
        assertEquals(List.of("z", "b"), LayerMatches.of(model(), EXCLUDE_SKIP).mainGraphActivations());
        assertEquals(List.of("z", "s", "b"), LayerMatches.of(model(), new LayerSelection(Optional.empty(), false)).mainGraphActivations());
        assertEquals(List.of("b"), LayerMatches.of(model(), new LayerSelection(Optional.of(Pattern.compile("^l[12]$|skip")), false))
                .mainGraphActivations());
        // graph order, not name order: l4 (activation b) moved first
        OnnxMl.ModelProto m = model();
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        NodeProto l4 = g.getNode(4);
        g.removeNode(4).addNode(0, l4.toBuilder().setInput(0, "late"));
        g.addInput(OnnxMl.ValueInfoProto.newBuilder().setName("late"));
        assertEquals(List.of("late", "z", "s"),
                LayerMatches.of(m.toBuilder().setGraph(g).build(), new LayerSelection(Optional.empty(), false)).mainGraphActivations());
    }
}
