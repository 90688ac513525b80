package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.TinyGraphs;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Linear layers inside If branches, and 2D Haar on a token grid inferred from a patchify Conv. */
class NestedAndGridTest {
    @Test
    void rewritesLinearLayersInsideIfBranchesWithOuterScopeWeights() {
        OnnxMl.ModelProto model = TinyGraphs.linearInsideIf(11, 8, 2);
        StampResult r = StampCompiler.compile(model, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build());
        assertEquals(List.of("then_linear", "else_linear"), r.report().rewritten().stream().map(StampReport.Layer::name).toList());
        assertEquals("main/if.then_branch", r.report().rewritten().get(0).graph());
        for (boolean cond : new boolean[] {true, false}) {
            Map<String, Object> in = Map.of("x", Ort.random(9, 13, 8), "cond", cond);
            assertTrue(Ort.maxRelativeError(Ort.run(model, in).get("y"), Ort.run(r.model(), in).get("y")) < 1e-5, "cond " + cond);
        }
        StampResult stamp = StampCompiler.compile(model, StampConfig.defaults());
        Map<String, Object> in = Map.of("x", Ort.random(9, 13, 8), "cond", true);
        assertTrue(Ort.sqnrDb(Ort.run(model, in).get("y"), Ort.run(stamp.model(), in).get("y")) > 10);
    }

    @Test
    void infersTheGridOfAVitAndTransformsIn2d() {
        OnnxMl.ModelProto vit = TinyGraphs.vitLike(17, 8, 8, 16, 4);
        StampConfig cfg = StampConfig.builder().transform("haar2d").levels(2).mode(StampConfig.Mode.TRANSFORM_ONLY).build();
        StampResult r = StampCompiler.compile(vit, cfg);
        assertEquals(List.of("q", "k", "v", "o", "fc1", "fc2"), r.report().rewritten().stream().map(StampReport.Layer::name).toList());
        for (StampReport.Layer l : r.report().rewritten()) {
            assertEquals("8x8 (inferred, 1 prefix tokens)", l.grid(), l.name());
            assertTrue(l.transform().startsWith("haar2d levels=2 sink=1"), l.transform());
        }
        assertTrue(r.report().insertedFunctions().keySet().stream().anyMatch(f -> f.startsWith("Haar2dSequence_")));
        Map<String, Object> in = Map.of("image", Ort.random(11, 1, 3, 32, 32));
        float[] ref = Ort.run(vit, in).get("tokens");
        assertTrue(Ort.maxRelativeError(ref, Ort.run(r.model(), in).get("tokens")) < 1e-5);
        float[] quant = Ort.run(StampCompiler.compile(vit, cfg.toBuilder().mode(StampConfig.Mode.STAMP).build()).model(), in).get("tokens");
        assertTrue(Ort.sqnrDb(ref, quant) > 10);
    }

    @Test
    void haar2dWithoutAGridSaysWhy() {
        StampResult r = StampCompiler.compile(TinyGraphs.encoderBlock(11, 8, 1), StampConfig.builder().transform("haar2d").build());
        assertTrue(r.report().rewritten().isEmpty());
        assertTrue(r.report().skipped().stream().filter(s -> s.name().equals("q")).findFirst().orElseThrow().reason().contains("--grid"));
    }

    @Test
    void explicitGridIsUsedWithTheConfiguredSink() {
        OnnxMl.ModelProto vit = TinyGraphs.vitLike(17, 4, 6, 8, 5);
        StampConfig cfg = StampConfig.builder().transform("haar2d").levels(1)
                .grid(StampConfig.Grid.parse("4x6")).mode(StampConfig.Mode.TRANSFORM_ONLY).build();
        StampResult r = StampCompiler.compile(vit, cfg);
        assertEquals("4x6 (--grid)", r.report().rewritten().get(0).grid());
        Map<String, Object> in = Map.of("image", Ort.random(12, 1, 3, 16, 24));
        assertTrue(Ort.maxRelativeError(Ort.run(vit, in).get("tokens"), Ort.run(r.model(), in).get("tokens")) < 1e-5);
    }

    @Test
    void explicitGridThatDoesNotFitTheSequenceIsRefusedWithTheCounts() {
        OnnxMl.ModelProto vit = TinyGraphs.vitLike(17, 4, 6, 8, 5);
        StampResult r = StampCompiler.compile(vit, StampConfig.builder().transform("haar2d")
                .grid(StampConfig.Grid.parse("5x5")).build());
        assertTrue(r.report().rewritten().isEmpty());
        assertEquals("--grid 5x5 holds 25 tokens but the input has 25 tokens with 1 sink token(s)", r.report().skipped().get(0).reason());
    }
}
