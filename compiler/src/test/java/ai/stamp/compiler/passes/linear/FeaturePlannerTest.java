package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.byNode;
import static ai.stamp.compiler.passes.linear.LinearFixtures.layer;
import static ai.stamp.compiler.passes.linear.LinearFixtures.nodeSet;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampConfig.Rotation;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.config.FeatureTransforms;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** FeaturePlanner on its own: which feature transforms each layer gets, and the report text when one is skipped. */
class FeaturePlannerTest {
    private static final double OFF = -1;

    /**
     * x [batch, seq, 16] -> q (MatMul Wq [16, 16]) and k (MatMul of Wt = Cast(W0 int32): not readable offline);
     * h [batch, seq, 10] -> narrow (MatMul Wn [10, 4]): no Hadamard matrix of order 10.
     */
    private static final OnnxMl.ModelProto MODEL = model();
    private static final LayerMatches MATCHES = LinearFixtures.matches(MODEL);

    private static OnnxMl.ModelProto model() {
        GraphBuilder g = new GraphBuilder(3);
        g.input("x", "batch", "seq", 16);
        g.input("h", "batch", "seq", 10);
        String q = g.op("MatMul", "q", "x", g.weight("Wq", 0.5f, 16, 16));
        g.node("Cast", "wt", List.of(g.int32Weight("W0", 3, 16, 16)), List.of("Wt"), GraphBuilder.intAttr("to", OnnxMl.TensorProto.DataType.FLOAT_VALUE));
        String k = g.op("MatMul", "k", "x", "Wt");
        g.node("Add", "sum", List.of(q, k), List.of("y"));
        g.node("MatMul", "narrow", List.of("h", g.weight("Wn", 0.5f, 10, 4)), List.of("z"));
        g.output("y", "batch", "seq", 16);
        g.output("z", "batch", "seq", 4);
        return g.model(13, 8);
    }

    private static FeaturePlanner planner(LayerMatches matches, Rotation rotation, double alpha, CalibrationStats stats) {
        FeatureTransforms f = new FeatureTransforms(rotation, alpha);
        Map<NodeProto, LinearLayer> all = byNode(matches);
        return new FeaturePlanner(f, new SmoothingPlanner(f, stats, all, nodeSet(all)), matches.graphs().get(0));
    }

    private static CalibrationStats statsOfX() { return LinearFixtures.channelMax(Map.of("x", LinearFixtures.outlierMaxima(16, 2))); }

    @Test
    void bothTransformsOffIsTheIdentityPlan() {
        FeaturePlan p = planner(MATCHES, Rotation.NONE, OFF, statsOfX()).plan(layer(MATCHES, "q"));
        assertSame(FeaturePlan.NONE, p);
        assertTrue(p.isIdentity());
        assertEquals("", p.shareKey());
        assertEquals("", p.detail());
    }

    @Test
    void rotationAppliesWhereAHadamardMatrixExistsAndTheWeightIsReadable() {
        for (Rotation r : new Rotation[] {Rotation.HADAMARD, Rotation.RANDOM_HADAMARD}) {
            FeaturePlanner planner = planner(MATCHES, r, OFF, CalibrationStats.NONE);
            FeaturePlan q = planner.plan(layer(MATCHES, "q"));
            assertEquals(Optional.of(r), q.rotation());
            assertEquals(Optional.empty(), q.smoothing());
            assertEquals(16, q.features());
            assertFalse(q.isIdentity());
            assertEquals("|rot", q.shareKey());
            assertEquals("rotate " + (r == Rotation.HADAMARD ? "hadamard" : "random-hadamard") + " D=16", q.detail());

            FeaturePlan k = planner.plan(layer(MATCHES, "k"));
            assertEquals(Optional.empty(), k.rotation());
            assertTrue(k.isIdentity());
            assertEquals("rotate skipped: weight 'Wt' is computed from 'W0', which holds int32 values, not floating point", k.detail());

            FeaturePlan narrow = planner.plan(layer(MATCHES, "narrow"));
            assertEquals(Optional.empty(), narrow.rotation());
            assertEquals(10, narrow.features());
            assertEquals("rotate skipped: no Hadamard matrix of order 10 (sizes 2^k, 12·2^k, 20·2^k, 28·2^k)", narrow.detail());
        }
    }

    @Test
    void smoothingAndRotationTogether() {
        FeaturePlanner planner = planner(MATCHES, Rotation.HADAMARD, 0.5, statsOfX());
        FeaturePlan q = planner.plan(layer(MATCHES, "q"));
        SmoothingPlanner.Decision d = q.smoothing().orElseThrow();
        assertEquals(List.of("q"), LinearFixtures.names(d.layers()), "k's weight cannot be scaled offline");
        assertEquals(Optional.of(Rotation.HADAMARD), q.rotation());
        assertEquals("|smooth|rot", q.shareKey());
        assertEquals("smooth α=0.5 as inserted Mul ('x' is also read by something other than the smoothed layers); rotate hadamard D=16", q.detail());

        FeaturePlan k = planner.plan(layer(MATCHES, "k"));
        assertTrue(k.isIdentity());
        assertEquals("smooth skipped: weight 'Wt' is computed from 'W0', which holds int32 values, not floating point;"
                + " rotate skipped: weight 'Wt' is computed from 'W0', which holds int32 values, not floating point", k.detail());
    }

    @Test
    void smoothingOnlyWithoutStatisticsSaysSo() {
        FeaturePlan q = planner(MATCHES, Rotation.NONE, 0.5, CalibrationStats.NONE).plan(layer(MATCHES, "q"));
        assertTrue(q.isIdentity());
        assertEquals("", q.shareKey());
        assertEquals("smooth skipped: no calibration statistics for 'x'", q.detail());
        FeaturePlan smoothOnly = planner(MATCHES, Rotation.NONE, 0.5, statsOfX()).plan(layer(MATCHES, "q"));
        assertEquals("|smooth", smoothOnly.shareKey());
        assertEquals(Optional.empty(), smoothOnly.rotation());
    }

    @Test
    void readersOfOneActivationShareOneDecision() {
        OnnxMl.ModelProto block = TinyGraphs.encoderBlock(13, 16, 1);
        LayerMatches m = LinearFixtures.matches(block);
        FeaturePlanner planner = planner(m, Rotation.NONE, 0.5, LinearFixtures.channelMax(Map.of("x", LinearFixtures.outlierMaxima(16, 2))));
        SmoothingPlanner.Decision q = planner.plan(layer(m, "q")).smoothing().orElseThrow();
        assertSame(q, planner.plan(layer(m, "k")).smoothing().orElseThrow());
        assertSame(q, planner.plan(layer(m, "v")).smoothing().orElseThrow());
        assertEquals(List.of("q", "k", "v"), LinearFixtures.names(q.layers()));
        // o reads another tensor, which has no statistics here
        assertEquals("smooth skipped: no calibration statistics for 'context_out'", planner.plan(layer(m, "o")).detail());
    }
}
