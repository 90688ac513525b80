package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.layer;
import static ai.stamp.compiler.passes.linear.LinearFixtures.planned;
import static ai.stamp.compiler.passes.linear.LinearFixtures.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.rewrite.Refusal;
import ai.stamp.ops.DctTransform;
import ai.stamp.ops.Haar2dTransform;
import ai.stamp.ops.HaarTransform;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.ops.WhtTransform;
import ai.stamp.testmodels.TinyGraphs;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** TokenPlanner on its own: the layout, mode and bits it plans per layer, and each refusal with its code. */
class TokenPlannerTest {
    /** 4x6 patch grid, a [CLS] token in front: q reads ln1_out [1, 25, 8] (static). */
    private static final OnnxMl.ModelProto VIT = TinyGraphs.vitLike(17, 4, 6, 8, 5);
    private static final LayerMatches VIT_MATCHES = LinearFixtures.matches(VIT);
    private static final LinearLayer VIT_Q = layer(VIT_MATCHES, "q");
    /** q reads the graph input x [batch, seq, 16] (dynamic sequence). */
    private static final LinearLayer BLOCK_Q = layer(TinyGraphs.encoderBlock(13, 16, 1), "q");

    private static TokenPlanner planner(StampConfig c) { return planner(c, CalibrationStats.NONE); }

    private static TokenPlanner planner(StampConfig c, CalibrationStats stats) {
        return new TokenPlanner(c.mode(), c.sequence(), c.precision(), stats);
    }

    private static StampConfig.Builder haar2d() { return StampConfig.builder().transform(Haar2dTransform.ID).levels(1); }

    @Test
    void explicitGridPlansA2dLayoutWithTheConfiguredSink() {
        assertEquals(25, VIT_Q.sequenceLength());
        TokenPlanner p = planner(haar2d().grid(StampConfig.Grid.parse("4x6")).build());
        assertFalse(p.needsInferredGrids(), "a given grid needs no inference");
        TokenPlan plan = planned(p.plan(VIT_Q, Map.of()));
        assertEquals(StampConfig.Mode.STAMP, plan.mode());
        assertEquals(Haar2dTransform.ID, plan.transformed().sequenceTransform().id());
        assertTrue(plan.transformed().is2d());
        assertEquals(4, plan.transformed().gridHeight());
        assertEquals(1, plan.transformed().levels());
        assertEquals(1, plan.transformed().sinkTokens());
        assertEquals("4x6 (--grid)", plan.gridSource());
        assertEquals(8, plan.hiBits());
        assertEquals(4, plan.loBits());
        assertEquals(0, plan.hiTokens());
        assertNull(plan.coefficientBits());
        assertTrue(plan.transforms() && plan.quantizes());
        assertEquals("haar2d levels=1 sink=1", plan.describeTransform());
        // the dynamic sequence of another model cannot be checked against the grid: planned
        assertEquals(-1, BLOCK_Q.sequenceLength());
        assertEquals("3x3 (--grid)", planned(planner(haar2d().grid(StampConfig.Grid.parse("3x3")).build()).plan(BLOCK_Q, Map.of())).gridSource());
    }

    @Test
    void inferredGridFixesTheSinkToThePrefixTokens() {
        // --sink-tokens 0, but the inferred grid says one token ([CLS]) comes before the patches
        TokenPlanner p = planner(haar2d().sinkTokens(0).build());
        assertTrue(p.needsInferredGrids());
        Map<String, TokenGridInference.TokenGrid> grids = TokenGridInference.infer(VIT_MATCHES.graphs().get(0));
        assertTrue(grids.containsKey(VIT_Q.activation()), grids.toString());
        TokenPlan plan = planned(p.plan(VIT_Q, grids));
        assertEquals(Haar2dTransform.ID, plan.transformed().sequenceTransform().id());
        assertEquals(4, plan.transformed().gridHeight());
        assertEquals(1, plan.transformed().sinkTokens());
        assertEquals("4x6 (inferred, 1 prefix tokens)", plan.gridSource());
    }

    @Test
    void noGridOrAGridThatDoesNotFitIsNoTokenGrid() {
        Refusal none = refused(planner(haar2d().build()).plan(VIT_Q, Map.of()));
        assertEquals(Refusal.Code.NO_TOKEN_GRID, none.code());
        assertEquals("no token grid known for its input (not traced to a patchify Conv): give --grid HxW or use a 1D --transform (haar, dct, wht)", none.detail());

        Refusal five = refused(planner(haar2d().grid(StampConfig.Grid.parse("5x5")).build()).plan(VIT_Q, Map.of()));
        assertEquals(Refusal.Code.NO_TOKEN_GRID, five.code());
        assertEquals("--grid 5x5 holds 25 tokens but the input has 25 tokens with 1 sink token(s)", five.detail());
        // the right grid with the wrong sink count does not fit either
        Refusal sink = refused(planner(haar2d().grid(StampConfig.Grid.parse("4x6")).sinkTokens(0).build()).plan(VIT_Q, Map.of()));
        assertEquals(Refusal.Code.NO_TOKEN_GRID, sink.code());
        assertEquals("--grid 4x6 holds 24 tokens but the input has 25 tokens with 0 sink token(s)", sink.detail());
    }

    @Test
    void identityTransformIsTheMatchedBaselineOfThe1dHaarGeometry() {
        for (StampConfig.Mode mode : new StampConfig.Mode[] {StampConfig.Mode.STAMP, StampConfig.Mode.BASELINE}) {
            TokenPlan plan = planned(planner(StampConfig.builder().mode(mode).transform(StampConfig.IDENTITY_TRANSFORM).build()).plan(BLOCK_Q, Map.of()));
            assertEquals(StampConfig.Mode.BASELINE, plan.mode(), "configured " + mode);
            assertEquals(HaarTransform.ID, plan.transformed().sequenceTransform().id());
            assertFalse(plan.transforms());
            assertTrue(plan.quantizes());
            assertTrue(plan.quantizedLayout().identity());
            assertEquals("identity (matched to haar) levels=3 sink=1", plan.describeTransform());
            assertEquals("TokenPrecision_identity_l3_s1_b8-4_band", plan.tokenPrecision().functionName());
        }
    }

    @Test
    void identityWithoutQuantizationInsertsNothing() {
        Refusal r = refused(planner(StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).transform(StampConfig.IDENTITY_TRANSFORM).build())
                .plan(BLOCK_Q, Map.of()));
        assertEquals(Refusal.Code.NOTHING_TO_INSERT, r.code());
        assertEquals("identity transform without quantization inserts nothing", r.detail());
        // the same mode with a real transform is planned
        TokenPlan t = planned(planner(StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build()).plan(BLOCK_Q, Map.of()));
        assertTrue(t.transforms());
        assertFalse(t.quantizes());
        assertEquals("no quantization", t.describeBits());
    }

    @Test
    void oneDimensionalFamiliesPlanTheirOwnTransform() {
        record Case(String id, String forward) {}
        for (Case c : new Case[] {new Case(HaarTransform.ID, "HaarSequence_l3_s1"), new Case(DctTransform.ID, "DctSequence"),
                new Case(WhtTransform.ID, "WhtSequence")}) {
            TokenPlan plan = planned(planner(StampConfig.builder().transform(c.id()).build()).plan(BLOCK_Q, Map.of()));
            assertEquals(c.id(), plan.transformed().sequenceTransform().id());
            assertFalse(plan.transformed().is2d(), c.id());
            assertEquals(3, plan.transformed().levels());
            assertEquals(1, plan.transformed().sinkTokens());
            assertEquals("", plan.gridSource());
            assertTrue(SequenceTransforms.forward(plan.transformed()).functionName().startsWith(c.forward()),
                    SequenceTransforms.forward(plan.transformed()).functionName());
            assertTrue(plan.describeTransform().startsWith(c.id() + " levels=3 sink=1"), plan.describeTransform());
            // the baseline of a family is matched to that family's band
            TokenPlan base = planned(planner(StampConfig.builder().transform(c.id()).mode(StampConfig.Mode.BASELINE).build()).plan(BLOCK_Q, Map.of()));
            assertEquals(c.id(), base.transformed().sequenceTransform().id());
            assertEquals("identity (matched to " + c.id() + ") levels=3 sink=1", base.describeTransform());
        }
        TokenPlan haar = planned(planner(StampConfig.defaults()).plan(BLOCK_Q, Map.of()));
        TokenPlan dct = planned(planner(StampConfig.builder().transform(DctTransform.ID).build()).plan(BLOCK_Q, Map.of()));
        assertNotEquals(haar.key(), dct.key(), "plans of different transforms must not share a quantized tensor");
        assertEquals(haar.key(), planned(planner(StampConfig.defaults()).plan(BLOCK_Q, Map.of())).key());
    }

    @Test
    void fixedHiTokensAndBitsAreCarried() {
        TokenPlan plan = planned(planner(StampConfig.builder().hiBits(6).loBits(3).hiTokens(5).build()).plan(BLOCK_Q, Map.of()));
        assertEquals(6, plan.hiBits());
        assertEquals(3, plan.loBits());
        assertEquals(5, plan.hiTokens());
        assertEquals("A6/3 hi-tokens=5", plan.describeBits());
    }

    private static StampConfig.Builder energy() {
        return StampConfig.builder().allocation(StampConfig.Allocation.ENERGY).avgBits(5);
    }

    @Test
    void energyAllocationRefusalsNeedCalibration() {
        // 2D: there are no 1D coefficient energies to allocate from
        Refusal twoD = refused(planner(energy().transform(Haar2dTransform.ID).levels(1).grid(StampConfig.Grid.parse("4x6")).build())
                .plan(VIT_Q, Map.of()));
        assertEquals(Refusal.Code.NEEDS_CALIBRATION, twoD.code());
        assertEquals("--allocate energy needs 1D coefficient energies: use a 1D --transform (haar, dct, wht) or identity with it", twoD.detail());

        // no statistics, or statistics without energies, for the layer's input
        CalibrationStats noEnergies = new CalibrationStats(Map.of("x", new ActivationStats("x", 16, 100, new float[16], null, Map.of(), 0)), 1, 1);
        for (CalibrationStats stats : new CalibrationStats[] {CalibrationStats.NONE, noEnergies}) {
            Refusal r = refused(planner(energy().build(), stats).plan(BLOCK_Q, Map.of()));
            assertEquals(Refusal.Code.NEEDS_CALIBRATION, r.code());
            assertEquals("--allocate energy needs coefficient energies of its input 'x': give calibration data with --calib", r.detail());
        }

        // energies measured with another sink count
        CalibrationStats stats = new CalibrationStats(Map.of("x", EnergyPlanTest.statsOf("x", EnergyPlanTest.smooth(11, 65), 1)), 1, 1);
        Refusal sink = refused(planner(energy().sinkTokens(0).build(), stats).plan(BLOCK_Q, Map.of()));
        assertEquals(Refusal.Code.NEEDS_CALIBRATION, sink.code());
        assertEquals("calibration energies were measured with 1 sink token(s) but --sink-tokens is 0: recalibrate with --calib", sink.detail());

        // the same statistics with the matching sink: a per-coefficient bit table of 2^L entries
        TokenPlan plan = planned(planner(energy().build(), stats).plan(BLOCK_Q, Map.of()));
        assertTrue(plan.energyAllocated());
        assertEquals(1 << plan.transformed().levels(), plan.coefficientBits().length);
        assertTrue(plan.averageBits() <= 5 + 1e-9, plan.describeBits());
    }

    @Test
    void energyTransformOnlyWithoutStatisticsFallsBackToTheConfiguredLevels() {
        TokenPlan plan = planned(planner(energy().levels(2).mode(StampConfig.Mode.TRANSFORM_ONLY).build()).plan(BLOCK_Q, Map.of()));
        assertEquals(StampConfig.Mode.TRANSFORM_ONLY, plan.mode());
        assertEquals(2, plan.transformed().levels());
        assertFalse(plan.energyAllocated());
        assertEquals(0, plan.hiTokens());
    }
}
