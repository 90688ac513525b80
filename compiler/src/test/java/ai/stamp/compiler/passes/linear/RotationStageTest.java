package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.dump;
import static ai.stamp.compiler.passes.linear.LinearFixtures.floats;
import static ai.stamp.compiler.passes.linear.LinearFixtures.layer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampConfig.Rotation;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.quant.Hadamard;
import ai.stamp.testmodels.GraphBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** RotationStage on its own: one R per feature size per graph, one rotated tensor per input, X·R in ORT. */
class RotationStageTest {
    /** x [.., 16] -> q, k (shared input); x2 [.., 16] -> p; h [.., 32] -> fc. */
    private static OnnxMl.ModelProto model() {
        GraphBuilder g = new GraphBuilder(8);
        g.input("x", "batch", "seq", 16);
        g.input("x2", "batch", "seq", 16);
        g.input("h", "batch", "seq", 32);
        g.node("MatMul", "q", List.of("x", g.weight("Wq", 0.5f, 16, 4)), List.of("yq"));
        g.node("MatMul", "k", List.of("x", g.weight("Wk", 0.5f, 16, 4)), List.of("yk"));
        g.node("MatMul", "p", List.of("x2", g.weight("Wp", 0.5f, 16, 4)), List.of("yp"));
        g.node("MatMul", "fc", List.of("h", g.weight("Wf", 0.5f, 32, 4)), List.of("yf"));
        for (String y : List.of("yq", "yk", "yp", "yf")) g.output(y, "batch", "seq", 4);
        return g.model(13, 8);
    }

    private static final OnnxMl.ModelProto BEFORE = model();

    private record Rewrite(OnnxMl.ModelProto model, Map<String, String> rotated, Map<String, Integer> added, RotationStage stage) {}

    /** Each layer reads its rotated input with R^T W (computed here from the stage's matrix). */
    private static Rewrite rewrite(Rotation kind) {
        LayerMatches m = LinearFixtures.matches(BEFORE);
        LinearFixtures.Edit e = LinearFixtures.edit(BEFORE, m, LinearLayerRule.NAME);
        RotationStage stage = new RotationStage(e.graph(), kind);
        Map<String, String> rotated = new HashMap<>();
        Map<String, Integer> added = new HashMap<>();
        for (String name : List.of("q", "k", "p", "fc")) {
            LinearLayer l = layer(m, name);
            int d = l.features();
            List<NodeProto> nodes = new ArrayList<>();
            String xr = stage.apply(l.activation(), d, l.activation(), name, nodes);
            rotated.put(name, xr);
            added.put(name, nodes.size());
            float[] r = Hadamard.toFloat(stage.matrix(d));
            float[] rt = Tensors.transpose(r, d, d);
            String w = e.graph().addInitializer(l.weight() + "_rot", Tensors.floatTensor(LinearFixtures.matmul(rt, d, d, LayerWeight.valuesDN(l), l.outputs()), d, l.outputs()));
            nodes.add(e.graph().node("MatMul", List.of(xr, w), List.of(l.output()), name));
            e.graph().replace(l.node(), nodes);
        }
        return new Rewrite(e.build(), rotated, added, stage);
    }

    @Test
    void oneMatrixPerFeatureSizeAndOneRotatedTensorPerInput() {
        assertEquals("""
                yq = MatMul(x, Wq)
                yk = MatMul(x, Wk)
                yp = MatMul(x2, Wp)
                yf = MatMul(h, Wf)""", dump(BEFORE));
        Rewrite r = rewrite(Rotation.HADAMARD);
        assertEquals("""
                x_rot = MatMul(x, stamp_hadamard_16)
                yq = MatMul(x_rot, Wq_rot)
                yk = MatMul(x_rot, Wk_rot)
                x2_rot = MatMul(x2, stamp_hadamard_16)
                yp = MatMul(x2_rot, Wp_rot)
                h_rot = MatMul(h, stamp_hadamard_32)
                yf = MatMul(h_rot, Wf_rot)""", dump(r.model()));
        assertEquals(Map.of("q", 1, "k", 0, "p", 1, "fc", 1), r.added(), "k reuses q's rotated x");
        assertEquals(r.rotated().get("q"), r.rotated().get("k"));
        List<String> rs = r.model().getGraph().getInitializerList().stream().map(OnnxMl.TensorProto::getName).filter(n -> n.contains("hadamard")).toList();
        assertEquals(List.of("stamp_hadamard_16", "stamp_hadamard_32"), rs);
        for (int d : new int[] {16, 32}) {
            OnnxMl.TensorProto t = LinearFixtures.initializer(r.model().getGraph(), "stamp_hadamard_" + d);
            assertEquals(List.of((long) d, (long) d), t.getDimsList());
            assertArrayEquals(Hadamard.toFloat(Hadamard.matrix(d)), Tensors.floats(t));
        }
        assertSame(r.stage().matrix(16), r.stage().matrix(16), "computed once per size");
        assertSameOutputs(r.model());
    }

    @Test
    void randomizedHadamardUsesTheFixedSeed() {
        Rewrite r = rewrite(Rotation.RANDOM_HADAMARD);
        String name = "stamp_random_hadamard_seed" + RotationStage.RANDOM_HADAMARD_SEED + "_16";
        float[] stored = floats(r.model().getGraph(), name);
        assertArrayEquals(Hadamard.toFloat(Hadamard.randomized(16, RotationStage.RANDOM_HADAMARD_SEED)), stored);
        assertTrue(LinearFixtures.maxAbsDiff(stored, Hadamard.toFloat(Hadamard.matrix(16))) > 0.1, "signs flipped against the plain Hadamard");
        assertTrue(dump(r.model()).startsWith("x_rot = MatMul(x, " + name + ")"), dump(r.model()));
        assertSameOutputs(r.model());
    }

    /** X R (R^T W) = X W for every layer, and the rotated tensor is X·R. */
    private static void assertSameOutputs(OnnxMl.ModelProto after) {
        Ort.Tensor x = Ort.random(1, 2, 5, 16);
        Map<String, Object> in = Map.of("x", x, "x2", Ort.random(2, 2, 5, 16), "h", Ort.random(3, 2, 5, 32));
        Map<String, float[]> ref = Ort.run(BEFORE, in);
        Map<String, float[]> got = Ort.run(LinearFixtures.withOutputs(after, "x_rot"), in);
        for (String y : List.of("yq", "yk", "yp", "yf")) {
            assertTrue(Ort.maxRelativeError(ref.get(y), got.get(y)) < 1e-5, y + ": " + Ort.maxRelativeError(ref.get(y), got.get(y)));
        }
        String rName = after.getGraph().getInitializerList().stream().map(OnnxMl.TensorProto::getName)
                .filter(n -> n.contains("hadamard") && n.endsWith("_16")).findFirst().orElseThrow();
        float[] xr = LinearFixtures.matmul(x.data(), 10, 16, floats(after.getGraph(), rName), 16);
        assertTrue(Ort.maxRelativeError(xr, got.get("x_rot")) < 1e-5);
    }
}
