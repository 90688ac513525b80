package ai.stamp.compiler.rewrite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.testmodels.GraphBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Passes run in order, each planning on the model the previous one committed. */
class PassManagerTest {
    /** Replaces every node of type {@code from} by one of type {@code to} (same name); records what it saw. */
    private static final class Retype implements Pass<List<NodeProto>> {
        final String from, to;
        final List<String> log;
        OnnxMl.ModelProto planned;
        Graph graph;

        Retype(String from, String to, List<String> log) {
            this.from = from;
            this.to = to;
            this.log = log;
        }

        @Override public String name() { return from + "->" + to; }

        @Override
        public List<NodeProto> plan(OnnxMl.ModelProto model) {
            log.add(name() + " plan " + GraphDump.of(model.getGraph()).replace('\n', ';'));
            planned = model;
            graph = new Graph(model.getGraph());
            return graph.nodes().stream().filter(n -> n.getOpType().equals(from)).toList();
        }

        @Override
        public void rewrite(List<NodeProto> plan, ModelEditor editor) {
            log.add(name() + " rewrite " + plan.size());
            GraphEditor edit = editor.graph(graph, name());
            for (NodeProto n : plan) edit.replace(n, List.of(edit.nodeReplacing(n, to, n.getInputList(), n.getOutputList(), "was " + from)));
        }
    }

    private static OnnxMl.ModelProto model() {
        GraphBuilder b = new GraphBuilder(1);
        b.input("x", 2, 3);
        b.node("Relu", "a", List.of("x"), List.of("a_out"));
        b.node("Neg", "b", List.of("a_out"), List.of("y"));
        b.output("y", 2, 3);
        return b.model(17, 8);
    }

    @Test
    void passesRunInOrderAndTheSecondSeesTheFirstsCommittedModel() {
        OnnxMl.ModelProto m = model();
        List<String> log = new ArrayList<>();
        PassManager pm = new PassManager(new ModelEditor(m));
        Retype first = new Retype("Relu", "Abs", log);
        Retype second = new Retype("Abs", "Neg", log);
        OnnxMl.ModelProto afterFirst = pm.run(first);
        OnnxMl.ModelProto afterSecond = pm.run(second);
        assertEquals(List.of(
                "Relu->Abs plan a_out = Relu(x);y = Neg(a_out)",
                "Relu->Abs rewrite 1",
                "Abs->Neg plan a_out = Abs(x);y = Neg(a_out)",
                "Abs->Neg rewrite 1"), log);
        assertSame(m, first.planned);
        assertSame(afterFirst, second.planned, "the second pass plans on the first's committed model");
        assertSame(afterSecond, pm.editor().current());
        assertEquals("a_out = Neg(x)\ny = Neg(a_out)", GraphDump.of(afterSecond.getGraph()));
        assertEquals(List.of("a", "b"), afterSecond.getGraph().getNodeList().stream().map(NodeProto::getName).toList());
        assertEquals("stamp-onnx Abs->Neg for a: was Abs", afterSecond.getGraph().getNode(0).getDocString());
        // both run in ONNX Runtime: Relu then Neg vs Neg then Neg
        Ort.Tensor x = Ort.random(1, 2, 3);
        float[] before = Ort.run(m, Map.of("x", x)).get("y");
        float[] mid = Ort.run(afterFirst, Map.of("x", x)).get("y");
        float[] after = Ort.run(afterSecond, Map.of("x", x)).get("y");
        for (int i = 0; i < x.data().length; i++) {
            assertEquals(-Math.max(x.data()[i], 0f), before[i]);
            assertEquals(-Math.abs(x.data()[i]), mid[i]);
            assertEquals(x.data()[i], after[i]);
        }
    }

    @Test
    void applyCarriesOutAGivenPlanAndAPassWithNothingToDoCommitsTheSameModel() {
        OnnxMl.ModelProto m = model();
        List<String> log = new ArrayList<>();
        PassManager pm = new PassManager(new ModelEditor(m));
        Retype none = new Retype("Sigmoid", "Tanh", log);
        assertSame(m, pm.run(none));
        Retype relu = new Retype("Relu", "Tanh", log);
        List<NodeProto> plan = relu.plan(pm.editor().current());
        OnnxMl.ModelProto out = pm.apply(relu, plan);
        assertEquals("a_out = Tanh(x)\ny = Neg(a_out)", GraphDump.of(out.getGraph()));
        assertEquals(List.of("Sigmoid->Tanh plan a_out = Relu(x);y = Neg(a_out)", "Sigmoid->Tanh rewrite 0",
                "Relu->Tanh plan a_out = Relu(x);y = Neg(a_out)", "Relu->Tanh rewrite 1"), log);
        // a plan of a model that is no longer current is refused, not silently dropped
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> pm.apply(relu, plan));
        float[] y = Ort.run(out, Map.of("x", Ort.random(2, 2, 3))).get("y");
        float[] x = Ort.random(2, 2, 3).data();
        float[] want = new float[x.length];
        for (int i = 0; i < x.length; i++) want[i] = (float) -Math.tanh(x[i]);
        assertArrayEquals(want, y, 1e-6f);
    }
}
