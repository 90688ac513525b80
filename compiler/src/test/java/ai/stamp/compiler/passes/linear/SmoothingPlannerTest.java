package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.byNode;
import static ai.stamp.compiler.passes.linear.LinearFixtures.floats;
import static ai.stamp.compiler.passes.linear.LinearFixtures.node;
import static ai.stamp.compiler.passes.linear.LinearFixtures.nodeSet;
import static ai.stamp.compiler.passes.linear.LinearFixtures.planned;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.config.FeatureTransforms;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.rewrite.Refusal;
import ai.stamp.testmodels.GraphBuilder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** SmoothingPlanner on its own: the scales, where diag(1/s) goes (fold or Mul, and why), which readers are smoothed. */
class SmoothingPlannerTest {
    private static final int D = 8;
    private static final double ALPHA = 0.5;
    private static final FeatureTransforms FEATURES = new FeatureTransforms(StampConfig.Rotation.NONE, ALPHA);
    private static final String WHY_PRODUCER = ") is not a LayerNorm, Add(Mul(·, γ), β) or Add(MatMul(·, W0), b0) with initializers read only there";

    /** x [batch, seq, D] -> producer -> t -> q, k, v (MatMul [D, D]) -> y = q + k + v (+ extra readers of t). */
    private static OnnxMl.ModelProto model(java.util.function.Function<GraphBuilder, String> producer, Consumer<GraphBuilder> extra, String... tReaders) {
        GraphBuilder g = new GraphBuilder(21);
        g.input("x", "batch", "seq", D);
        String t = producer.apply(g);
        String q = g.op("MatMul", "q", t, g.weight("Wq", 0.5f, D, D));
        String k = g.op("MatMul", "k", t, g.weight("Wk", 1.5f, D, D));
        String v = g.op("MatMul", "v", t, g.weight("Wv", 0.2f, D, D));
        String sum = g.op("Add", "sum2", g.op("Add", "sum1", q, k), v);
        for (String reader : tReaders) sum = g.op("Add", reader, sum, t);
        g.node("Identity", "out", List.of(sum), List.of("y"));
        g.output("y", "batch", "seq", D);
        extra.accept(g);
        return g.model(17, 8);
    }

    private static String layerNorm(GraphBuilder g) {
        return g.op("LayerNormalization", "ln", List.of("x", g.weight("ln_g", 1f, D), g.weight("ln_b", 0.5f, D)), GraphBuilder.intAttr("axis", -1));
    }

    private static OnnxMl.ModelProto layerNormModel(String... tReaders) { return model(SmoothingPlannerTest::layerNorm, g -> {}, tReaders); }

    private static SmoothingPlanner.Outcome plan(OnnxMl.ModelProto m, String x) { return plan(m, x, Set.of()); }

    /** The planner over every matched layer except {@code notAccepted} (as the rule hands it the layers it accepted). */
    private static SmoothingPlanner.Outcome plan(OnnxMl.ModelProto m, String x, Set<String> notAccepted) {
        LayerMatches matches = LinearFixtures.matches(m);
        Map<NodeProto, LinearLayer> all = byNode(matches);
        Set<NodeProto> matched = nodeSet(all);
        Map<NodeProto, LinearLayer> accepted = new java.util.IdentityHashMap<>(all);
        accepted.keySet().removeIf(n -> notAccepted.contains(n.getName()));
        CalibrationStats stats = LinearFixtures.channelMax(Map.of(x, LinearFixtures.outlierMaxima(D, 5)));
        return new SmoothingPlanner(FEATURES, stats, accepted, matched)
                .plan(matches.graphs().get(0), x);
    }

    private static SmoothingPlanner.Decision smooth(SmoothingPlanner.Outcome o) {
        assertInstanceOf(SmoothingPlanner.Outcome.Smooth.class, o, () -> "expected a decision, got " + o);
        return ((SmoothingPlanner.Outcome.Smooth) o).decision();
    }

    private static List<String> layerNames(SmoothingPlanner.Decision d) { return LinearFixtures.names(d.layers()); }

    /** s_j = a_j^α / (max over the layers' row j of |W|)^(1-α), computed here from the initializers. */
    private static float[] expectedScales(OnnxMl.ModelProto m, float[] act, String... weights) {
        double[] w = new double[D];
        for (String name : weights) {
            float[] v = floats(m.getGraph(), name);
            for (int j = 0; j < D; j++) for (int n = 0; n < D; n++) w[j] = Math.max(w[j], Math.abs(v[j * D + n]));
        }
        float[] s = new float[D];
        for (int j = 0; j < D; j++) s[j] = (float) (Math.pow(act[j], ALPHA) / Math.pow(w[j], 1 - ALPHA));
        return s;
    }

    @Test
    void foldsIntoALayerNormWhoseReadersAreAllSmoothedLayers() {
        OnnxMl.ModelProto m = layerNormModel();
        SmoothingPlanner.Decision d = smooth(plan(m, "ln_out"));
        assertEquals("ln_out", d.activation());
        assertEquals(List.of("q", "k", "v"), layerNames(d));
        SmoothingPlanner.LayerNormFold fold = assertInstanceOf(SmoothingPlanner.LayerNormFold.class, d.fold().orElseThrow());
        assertSame(node(m, "ln"), fold.node());
        assertEquals("", d.whyNotFolded());
        assertEquals(ALPHA, d.alpha());
        assertEquals("smooth α=0.5 folded into LayerNorm 'ln'", d.describe());
        // Q, K and V share one s: the weight maximum is taken over all three
        assertArrayEquals(expectedScales(m, LinearFixtures.outlierMaxima(D, 5), "Wq", "Wk", "Wv"), d.scales(), 1e-6f);
    }

    @Test
    void foldsIntoAddOfMulEitherOperandOrder() {
        for (boolean swapped : new boolean[] {false, true}) {
            OnnxMl.ModelProto m = model(g -> {
                String gamma = g.weight("ln_g", 1f, D), beta = g.weight("ln_b", 0.5f, D);
                String mul = swapped ? g.op("Mul", "ln_mul", gamma, "x") : g.op("Mul", "ln_mul", "x", gamma);
                return swapped ? g.op("Add", "ln_add", beta, mul) : g.op("Add", "ln_add", mul, beta);
            }, g -> {});
            SmoothingPlanner.Decision d = smooth(plan(m, "ln_add_out"));
            SmoothingPlanner.MulAddFold fold = assertInstanceOf(SmoothingPlanner.MulAddFold.class, d.fold().orElseThrow());
            assertSame(node(m, "ln_mul"), fold.mul());
            assertSame(node(m, "ln_add"), fold.add());
            assertEquals(swapped ? 0 : 1, fold.gammaInput(), "γ's input index");
            assertEquals(swapped ? 0 : 1, fold.betaInput(), "β's input index");
            assertEquals("smooth α=0.5 folded into LayerNorm-like Mul/Add 'ln_mul'/'ln_add'", d.describe());
        }
    }

    /** x -> MatMul 'pre' (W0) -> Add 'pre_bias' (b0) -> q, k, v. */
    private static OnnxMl.ModelProto matMulAddModel() {
        return model(g -> g.op("Add", "pre_bias", g.op("MatMul", "pre", "x", g.weight("W0", 0.3f, D, D)), g.weight("b0", 0.5f, D)), g -> {});
    }

    @Test
    void foldsIntoAnAddOfAMatMulOnlyWhenThatMatMulIsNoMatchedLayer() {
        OnnxMl.ModelProto m = matMulAddModel();
        LayerMatches matches = LinearFixtures.matches(m);
        Map<NodeProto, LinearLayer> all = byNode(matches);
        // 'pre' left out of the matched set (as --exclude does): its W0 may be scaled
        Map<NodeProto, LinearLayer> withoutPre = new java.util.IdentityHashMap<>(all);
        withoutPre.remove(node(m, "pre"));
        CalibrationStats stats = LinearFixtures.channelMax(Map.of("pre_bias_out", LinearFixtures.outlierMaxima(D, 5)));
        SmoothingPlanner.Decision folded = smooth(new SmoothingPlanner(FEATURES, stats, withoutPre, nodeSet(withoutPre))
                .plan(matches.graphs().get(0), "pre_bias_out"));
        SmoothingPlanner.MatMulAddFold fold = assertInstanceOf(SmoothingPlanner.MatMulAddFold.class, folded.fold().orElseThrow());
        assertSame(node(m, "pre"), fold.matmul());
        assertSame(node(m, "pre_bias"), fold.add());
        assertEquals(1, fold.biasInput());
        assertEquals("smooth α=0.5 folded into MatMul/Add 'pre'/'pre_bias'", folded.describe());

        // 'pre' a matched layer (it will be rewritten itself): never folded into, a Mul instead
        SmoothingPlanner.Decision mul = smooth(plan(m, "pre_bias_out"));
        assertEquals(Optional.empty(), mul.fold());
        assertEquals("its producer 'pre_bias' (Add" + WHY_PRODUCER, mul.whyNotFolded());
        assertEquals(List.of("q", "k", "v"), layerNames(mul));
    }

    @Test
    void anotherReaderOfTheActivationForcesAnInsertedMul() {
        // post-LN: the residual reads the LayerNorm's output too
        SmoothingPlanner.Decision residual = smooth(plan(layerNormModel("residual"), "ln_out"));
        assertEquals(Optional.empty(), residual.fold());
        assertEquals("'ln_out' is also read by something other than the smoothed layers", residual.whyNotFolded());
        assertEquals(List.of("q", "k", "v"), layerNames(residual), "the layers are smoothed all the same");
        assertEquals("smooth α=0.5 as inserted Mul ('ln_out' is also read by something other than the smoothed layers)", residual.describe());

        // the activation is also a graph output
        OnnxMl.ModelProto exposed = model(SmoothingPlannerTest::layerNorm, g -> g.output("ln_out", "batch", "seq", D));
        assertEquals("'ln_out' is also read by something other than the smoothed layers", smooth(plan(exposed, "ln_out")).whyNotFolded());
    }

    @Test
    void constantsThatAreNotPrivateToTheProducerForceAnInsertedMul() {
        String why = "its producer 'ln' (LayerNormalization" + WHY_PRODUCER;
        // γ read by another node as well
        OnnxMl.ModelProto shared = model(SmoothingPlannerTest::layerNorm, g -> {
            g.node("Mul", "gamma_twice", List.of("ln_g", "ln_g"), List.of("gg"));
            g.output("gg", D);
        });
        assertEquals(why, smooth(plan(shared, "ln_out")).whyNotFolded());
        // β also a graph input (a caller may override it)
        OnnxMl.ModelProto overridable = model(SmoothingPlannerTest::layerNorm, g -> g.input("ln_b", D));
        assertEquals(why, smooth(plan(overridable, "ln_out")).whyNotFolded());
        // a LayerNorm over another axis is not per-feature
        OnnxMl.ModelProto axis = model(g -> g.op("LayerNormalization", "ln", List.of("x", g.weight("ln_g", 1f, D), g.weight("ln_b", 0.5f, D)),
                GraphBuilder.intAttr("axis", 1)), g -> {});
        assertEquals(why, smooth(plan(axis, "ln_out")).whyNotFolded());
        // γ of the wrong size
        OnnxMl.ModelProto scalar = model(g -> g.op("LayerNormalization", "ln", List.of("x", g.weight("ln_g", 1f, 1), g.weight("ln_b", 0.5f, D)),
                GraphBuilder.intAttr("axis", -1)), g -> {});
        assertEquals(why, smooth(plan(scalar, "ln_out")).whyNotFolded());
    }

    @Test
    void addOfMulOrMatMulFoldsOnlyWhenItsConstantsAndItsInnerOutputArePrivate() {
        java.util.function.Function<GraphBuilder, String> mulAdd = g -> {
            String mul = g.node("Mul", "ln_mul", List.of("x", g.weight("ln_g", 1f, D)), List.of("xg"));
            return g.op("Add", "ln_add", mul, g.weight("ln_b", 0.5f, D));
        };
        String whyMul = "its producer 'ln_add' (Add" + WHY_PRODUCER;
        assertTrue(smooth(plan(model(mulAdd, g -> {}), "ln_add_out")).fold().isPresent(), "the private form folds");
        // γ read elsewhere
        assertEquals(whyMul, smooth(plan(model(mulAdd, g -> {
            g.node("Identity", "gamma_copy", List.of("ln_g"), List.of("g2"));
            g.output("g2", D);
        }), "ln_add_out")).whyNotFolded());
        // the Mul's output read elsewhere (scaling it would change that reader)
        assertEquals(whyMul, smooth(plan(model(mulAdd, g -> g.output("xg", "batch", "seq", D)), "ln_add_out")).whyNotFolded());

        java.util.function.Function<GraphBuilder, String> matMulAdd = g -> {
            g.node("MatMul", "pre", List.of("x", g.weight("W0", 0.3f, D, D)), List.of("xw"));
            return g.op("Add", "pre_bias", "xw", g.weight("b0", 0.5f, D));
        };
        String whyMatMul = "its producer 'pre_bias' (Add" + WHY_PRODUCER;
        Set<String> notMatched = Set.of("pre");
        assertTrue(smoothNotMatched(model(matMulAdd, g -> {}), notMatched).fold().isPresent(), "the private form folds");
        // W0 also a graph input, b0 read elsewhere, or W0 read by another node
        assertEquals(whyMatMul, smoothNotMatched(model(matMulAdd, g -> g.input("W0", D, D)), notMatched).whyNotFolded());
        assertEquals(whyMatMul, smoothNotMatched(model(matMulAdd, g -> g.output("b0", D)), notMatched).whyNotFolded());
        assertEquals(whyMatMul, smoothNotMatched(model(matMulAdd, g -> {
            g.node("MatMul", "other", List.of("x", "W0"), List.of("xw2"));
            g.output("xw2", "batch", "seq", D);
        }), Set.of("pre", "other")).whyNotFolded());
    }

    /** As {@link #plan} on pre_bias_out with the nodes {@code notMatched} neither matched nor accepted (as --exclude leaves them). */
    private static SmoothingPlanner.Decision smoothNotMatched(OnnxMl.ModelProto m, Set<String> notMatched) {
        LayerMatches matches = LinearFixtures.matches(m);
        Map<NodeProto, LinearLayer> layers = new java.util.IdentityHashMap<>(byNode(matches));
        layers.keySet().removeIf(n -> notMatched.contains(n.getName()));
        CalibrationStats stats = LinearFixtures.channelMax(Map.of("pre_bias_out", LinearFixtures.outlierMaxima(D, 5)));
        return smooth(new SmoothingPlanner(FEATURES, stats, layers, nodeSet(layers)).plan(matches.graphs().get(0), "pre_bias_out"));
    }

    @Test
    void aGraphInputHasNoProducerToFoldInto() {
        SmoothingPlanner.Decision d = smooth(plan(model(g -> "x", g -> {}), "x"));
        assertEquals(Optional.empty(), d.fold());
        assertEquals("'x' has no producer node in this graph", d.whyNotFolded());
    }

    @Test
    void aReaderTheRuleDidNotAcceptIsNotSmoothedAndPreventsTheFold() {
        OnnxMl.ModelProto m = layerNormModel();
        SmoothingPlanner.Decision d = smooth(plan(m, "ln_out", Set.of("k")));
        assertEquals(List.of("q", "v"), layerNames(d));
        assertEquals(Optional.empty(), d.fold());
        assertEquals("'ln_out' is also read by something other than the smoothed layers", d.whyNotFolded());
        // k's weight takes no part in s
        assertArrayEquals(expectedScales(m, LinearFixtures.outlierMaxima(D, 5), "Wq", "Wv"), d.scales(), 1e-6f);
        float[] withK = expectedScales(m, LinearFixtures.outlierMaxima(D, 5), "Wq", "Wk", "Wv");
        assertTrue(LinearFixtures.maxAbsDiff(withK, d.scales()) > 1e-3, "Wk (scale 1.5) dominates the row maxima when it counts");
        // no accepted reader at all: nothing to smooth
        SmoothingPlanner.Outcome none = plan(m, "ln_out", Set.of("q", "k", "v"));
        assertEquals(new SmoothingPlanner.Outcome.Skip("no linear layer reading 'ln_out' has a float [8, N] weight"), none);
    }

    @Test
    void theRuleDoesNotCountALayerItRefusedAsSmoothed() {
        // k's weight is also a graph input (IR 8): with --smooth the rule refuses k (OVERRIDABLE_WEIGHT), so only q and v are smoothed
        OnnxMl.ModelProto m = model(SmoothingPlannerTest::layerNorm, g -> g.input("Wk", D, D));
        CalibrationStats stats = LinearFixtures.channelMax(Map.of("ln_out", LinearFixtures.outlierMaxima(D, 5)));
        StampConfig config = StampConfig.builder().smoothAlpha(ALPHA).build();
        LinearLayerPass.Plan plan = new LinearLayerPass(config, stats, ExternalWeights.NONE, 17).plan(m);
        Map<String, LinearLayerPass.Step> steps = new java.util.HashMap<>();
        for (LinearLayerPass.Step s : plan.steps()) steps.put(s.node().getName(), s);
        assertEquals(Refusal.Code.OVERRIDABLE_WEIGHT, LinearFixtures.refused(steps.get("k").match()).code());
        LayerPlan q = planned(steps.get("q").match());
        SmoothingPlanner.Decision d = q.input().features().smoothing().orElseThrow();
        assertEquals(List.of("q", "v"), layerNames(d));
        assertEquals(Optional.empty(), d.fold(), "k still reads ln_out unsmoothed: the LayerNorm must stay");
        assertArrayEquals(expectedScales(m, LinearFixtures.outlierMaxima(D, 5), "Wq", "Wv"), d.scales(), 1e-6f);
        assertSame(d, planned(steps.get("v").match()).input().features().smoothing().orElseThrow(), "one decision per activation");
    }

    @Test
    void withoutStatisticsTheActivationIsNotSmoothed() {
        OnnxMl.ModelProto m = layerNormModel();
        LayerMatches matches = LinearFixtures.matches(m);
        Map<NodeProto, LinearLayer> all = byNode(matches);
        SmoothingPlanner planner = new SmoothingPlanner(FEATURES, LinearFixtures.channelMax(Map.of("other", new float[D])), all, nodeSet(all));
        assertEquals(new SmoothingPlanner.Outcome.Skip("no calibration statistics for 'ln_out'"), planner.plan(matches.graphs().get(0), "ln_out"));
    }

    @Test
    void scalesFollowTheFormulaClampedAndOneWhereAChannelIsZero() {
        float[] act = {4f, 1e12f, 1e-12f, 0f, 3f, Float.POSITIVE_INFINITY, -9f};
        double[] w = {1.0, 1.0, 1.0, 2.0, 0.0, 1.0, 4.0};
        float[] s = SmoothingPlanner.scales(act, w, 0.5);
        assertEquals(2f, s[0], 1e-6f);                                // 4^0.5 / 1^0.5
        assertEquals((float) SmoothingPlanner.MAX_SCALE, s[1]);        // 1e6 clamped to 1e5
        assertEquals((float) SmoothingPlanner.MIN_SCALE, s[2]);        // 1e-6 clamped to 1e-5
        assertEquals(1f, s[3]);                                        // all-zero activation channel
        assertEquals(1f, s[4]);                                        // all-zero weight row
        assertEquals(1f, s[5]);                                        // non-finite maximum
        assertEquals(1.5f, s[6], 1e-6f);                               // |a| = 9: 3 / 2
        // α = 0.8: 4^0.8 / 2^0.2; α = 0: 1 / w; α = 1: a
        assertEquals((float) (Math.pow(4, 0.8) / Math.pow(2, 0.2)), SmoothingPlanner.scales(new float[] {4}, new double[] {2}, 0.8)[0], 1e-6f);
        assertEquals(0.25f, SmoothingPlanner.scales(new float[] {4}, new double[] {4}, 0)[0], 1e-7f);
        assertEquals(4f, SmoothingPlanner.scales(new float[] {4}, new double[] {4}, 1)[0], 1e-6f);
    }
}
