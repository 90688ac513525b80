package ai.stamp.compiler.passes.linear;

import static ai.stamp.testmodels.GraphBuilder.intAttr;
import static ai.stamp.testmodels.GraphBuilder.intsAttr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.passes.linear.TokenGridInference.TokenGrid;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The image-token grid each tensor is inferred to carry, on hand-built graphs. */
class TokenGridInferenceTest {
    private static final int C = 8;
    /** A non-square grid, so a swapped height and width shows. */
    private static final int GH = 3;
    private static final int GW = 5;
    private static final TokenGrid GRID = new TokenGrid(GH, GW, 0, 1, 3);

    private static Map<String, TokenGrid> infer(GraphBuilder g) {
        return TokenGridInference.infer(new Graph(g.model(17, 8).getGraph()));
    }

    /** image [1, 3, 4h, 4w] → 4x4/stride-4 Conv → [1, C, h, w]; returns the Conv output. */
    private static String patchify(GraphBuilder g, Object h, Object w) {
        g.input("image", 1, 3, h instanceof Integer hi ? 4 * hi : h, w instanceof Integer wi ? 4 * wi : w);
        return g.op("Conv", "patchify", List.of("image", g.weight("Wpatch", 0.2f, C, 3, 4, 4), g.weight("bpatch", 0.1f, C)),
                intsAttr("kernel_shape", 4, 4), intsAttr("strides", 4, 4));
    }

    /** Conv → Reshape [1, C, -1] → Transpose(0, 2, 1): tokens [1, h*w, C]; returns the Transpose output "tokens". */
    private static String stem(GraphBuilder g, Object h, Object w) {
        String flat = g.op("Reshape", "flatten", patchify(g, h, w), g.ints("flat_shape", 1, C, -1));
        return g.node("Transpose", "to_tokens", List.of(flat), List.of("tokens"), intsAttr("perm", 0, 2, 1));
    }

    @Test
    void patchifyConvReshapeTransposeGivesTheGridOfTheTokens() {
        GraphBuilder g = new GraphBuilder(1);
        stem(g, GH, GW);
        // only the tokens carry a grid: the Conv map and the flattened [1, C, h*w] do not (their token axis is not -2)
        assertEquals(Map.of("tokens", GRID), infer(g));
    }

    @Test
    void flattenAxis2IsAPatchifyFlattenButAxis1IsNot() {
        GraphBuilder g = new GraphBuilder(1);
        String flat = g.op("Flatten", "flatten", List.of(patchify(g, GH, GW)), intAttr("axis", 2));
        g.node("Transpose", "to_tokens", List.of(flat), List.of("tokens"), intsAttr("perm", 0, 2, 1));
        assertEquals(Map.of("tokens", GRID), infer(g));

        GraphBuilder g1 = new GraphBuilder(1);
        String flat1 = g1.op("Flatten", "flatten", List.of(patchify(g1, GH, GW)), intAttr("axis", 1));
        g1.node("Transpose", "to_tokens", List.of(flat1), List.of("tokens"), intsAttr("perm", 0, 2, 1));
        assertEquals(Map.of(), infer(g1));
    }

    @Test
    void elementwiseOpsOnTheConvMapKeepItsGrid() {
        GraphBuilder g = new GraphBuilder(1);
        String act = g.op("Relu", "act", g.op("Add", "bias", patchify(g, GH, GW), g.weight("b", 1f, 1, C, 1, 1)));
        String flat = g.op("Reshape", "flatten", act, g.ints("flat_shape", 1, C, GH * GW));
        g.node("Transpose", "to_tokens", List.of(flat), List.of("tokens"), intsAttr("perm", 0, 2, 1));
        assertEquals(Map.of("tokens", GRID), infer(g));
    }

    @Test
    void aTransposeOfAnotherPermOrNoPermGivesNoGrid() {
        for (long[] perm : new long[][] {{0, 1, 2}, {1, 2, 0}, {2, 1, 0}, {1, 0, 2}, null}) {
            GraphBuilder g = new GraphBuilder(1);
            String flat = g.op("Reshape", "flatten", patchify(g, GH, GW), g.ints("flat_shape", 1, C, -1));
            String t = perm == null ? g.op("Transpose", "to_tokens", flat)
                    : g.op("Transpose", "to_tokens", List.of(flat), intsAttr("perm", perm));
            g.op("MatMul", "fc", t, g.weight("W", 0.1f, C, C));
            assertEquals(Map.of(), infer(g), java.util.Arrays.toString(perm));
        }
    }

    @Test
    void aReshapeOfTheConvMapToAnotherRankIsNoPatchify() {
        GraphBuilder g = new GraphBuilder(1);
        String flat = g.op("Reshape", "flatten", patchify(g, GH, GW), g.ints("flat_shape", C, -1));
        g.op("Transpose", "to_tokens", List.of(flat), intsAttr("perm", 1, 0));
        assertEquals(Map.of(), infer(g));
    }

    @Test
    void clsAndRegisterTokensConcatenatedInFrontBecomePrefixTokens() {
        GraphBuilder g = new GraphBuilder(1);
        String tokens = stem(g, GH, GW);
        String cls = g.weight("cls", 1f, 1, 1, C);
        String registers = g.weight("registers", 1f, 1, 4, C);
        g.op("Concat", "cat_cls", List.of(cls, tokens), intAttr("axis", 1));
        g.op("Concat", "cat_all", List.of(cls, registers, tokens), intAttr("axis", -2)); // negative axis too
        Map<String, TokenGrid> grids = infer(g);
        assertEquals(new TokenGrid(GH, GW, 1, 1, 3), grids.get("cat_cls_out"));
        assertEquals(new TokenGrid(GH, GW, 5, 1, 3), grids.get("cat_all_out"));
        assertEquals(3, grids.size(), grids.toString());
    }

    @Test
    void prefixTokensAddUpOverSuccessiveConcats() {
        GraphBuilder g = new GraphBuilder(1);
        String withCls = g.op("Concat", "cat_cls", List.of(g.weight("cls", 1f, 1, 1, C), stem(g, GH, GW)), intAttr("axis", 1));
        g.op("Concat", "cat_reg", List.of(g.weight("registers", 1f, 1, 2, C), withCls), intAttr("axis", 1));
        assertEquals(new TokenGrid(GH, GW, 3, 1, 3), infer(g).get("cat_reg_out"));
    }

    @Test
    void concatOnTheFeatureAxisKeepsTheGrid() {
        GraphBuilder g = new GraphBuilder(1);
        g.op("Concat", "cat_features", List.of(stem(g, GH, GW), g.weight("extra", 1f, 1, GH * GW, 2)), intAttr("axis", 2));
        assertEquals(GRID, infer(g).get("cat_features_out"));
    }

    @Test
    void tokensConcatenatedAfterTheGridOrOfUnknownCountBreakIt() {
        GraphBuilder after = new GraphBuilder(1);
        after.op("Concat", "cat", List.of(stem(after, GH, GW), after.weight("cls", 1f, 1, 1, C)), intAttr("axis", 1));
        assertEquals(Map.of("tokens", GRID), infer(after));

        GraphBuilder between = new GraphBuilder(1);
        between.op("Concat", "cat", List.of(between.weight("cls", 1f, 1, 1, C), stem(between, GH, GW), between.weight("reg", 1f, 1, 1, C)),
                intAttr("axis", 1));
        assertEquals(Map.of("tokens", GRID), infer(between));

        GraphBuilder dynamicPrefix = new GraphBuilder(1);
        dynamicPrefix.input("prompt", 1, "p", C);
        dynamicPrefix.op("Concat", "cat", List.of("prompt", stem(dynamicPrefix, GH, GW)), intAttr("axis", 1));
        assertEquals(Map.of("tokens", GRID), infer(dynamicPrefix));
    }

    @Test
    void aVitBlockCarriesTheGridWithItsClsTokenToEveryLinearLayer() {
        Map<String, TokenGrid> grids = TokenGridInference.infer(new Graph(TinyGraphs.vitLike(17, GH, GW, C, 3).getGraph()));
        TokenGrid cls = new TokenGrid(GH, GW, 1, 1, 3);
        Map<String, TokenGrid> expected = new HashMap<>();
        expected.put("to_tokens_out", GRID);
        for (String t : List.of("cat_cls_out", "pos_out", "ln1_out", "q_out", "k_out", "v_out", "scores_out", "softmax_out",
                "context_out", "o_out", "residual_out", "fc1_out", "relu_out", "fc2_out", "tokens")) {
            expected.put(t, cls);
        }
        // kT = Transpose(k, (0, 2, 1)) has its tokens last: it is the right operand of QK^T, not a token-major tensor
        assertEquals(expected, grids);
    }

    @Test
    void aMatMulKeepsTheGridOnlyFromItsLeftOperand() {
        GraphBuilder g = new GraphBuilder(1);
        String tokens = stem(g, GH, GW);
        g.op("MatMul", "left", tokens, g.weight("W", 0.1f, C, 4));
        g.input("mix", 1, 4, GH * GW);
        g.op("MatMul", "right", "mix", tokens); // [1, 4, h*w] x [1, h*w, C]: the tokens are contracted away
        Map<String, TokenGrid> grids = infer(g);
        assertEquals(GRID, grids.get("left_out"));
        assertFalse(grids.containsKey("right_out"), grids.toString());
    }

    @Test
    void splittingHeadsAndTransposingKeepTheGridWhereTheTokensGo() {
        GraphBuilder g = new GraphBuilder(1);
        String heads = g.op("Reshape", "split_heads", stem(g, GH, GW), g.ints("heads_shape", 0, 0, 2, 4)); // [1, 15, 2, 4]
        String bhsd = g.op("Transpose", "heads_first", List.of(heads), intsAttr("perm", 0, 2, 1, 3)); // [1, 2, 15, 4]
        String attn = g.op("MatMul", "per_head", bhsd, g.weight("Wh", 0.1f, 4, 4));
        String bshd = g.op("Transpose", "tokens_first", List.of(attn), intsAttr("perm", 0, 2, 1, 3)); // [1, 15, 2, 4]
        g.op("Reshape", "merge_heads", bshd, g.ints("merged_shape", 0, 0, C)); // [1, 15, 8]
        Map<String, TokenGrid> grids = infer(g);
        assertEquals(new TokenGrid(GH, GW, 0, 2, 4), grids.get("heads_first_out"));
        assertEquals(new TokenGrid(GH, GW, 0, 2, 4), grids.get("per_head_out"));
        assertEquals(GRID, grids.get("merge_heads_out"));
        // [1, 15, 2, 4] has its tokens on axis 1 of 4, where no linear layer reads them: tracked, not reported
        assertFalse(grids.containsKey("split_heads_out"));
        assertFalse(grids.containsKey("tokens_first_out"));
        assertEquals(4, grids.size(), grids.toString());
    }

    @Test
    void aTransposeMovingTheTokensLastDropsThemFromTheResult() {
        GraphBuilder g = new GraphBuilder(1);
        String t = g.op("Transpose", "back", List.of(stem(g, GH, GW)), intsAttr("perm", 0, 2, 1));
        g.op("Transpose", "again", List.of(t), intsAttr("perm", 0, 2, 1));
        Map<String, TokenGrid> grids = infer(g);
        assertFalse(grids.containsKey("back_out"));
        // the layout is still followed through the tensor that has its tokens last
        assertEquals(GRID, grids.get("again_out"));
    }

    @Test
    void reshapesThatAreNeitherAHeadSplitNorAMergeBreakTheGrid() {
        GraphBuilder g = new GraphBuilder(1);
        String tokens = stem(g, GH, GW);
        g.op("Reshape", "flat", tokens, g.ints("rank2_shape", 1, -1)); // rank 2: tokens and features merged
        g.op("Reshape", "two_splits", tokens, g.ints("s5", 1, GH * GW, 2, 2, 2)); // rank 5
        g.input("dyn_shape_input", "r"); // a run-time shape of unknown length: not even the rank is known
        g.op("Reshape", "dynamic", tokens, "dyn_shape_input");
        assertEquals(Map.of("tokens", GRID), infer(g));
    }

    @Test
    void reshapesThatSplitOrMergeTheTokenAxisItselfBreakTheGrid() {
        GraphBuilder g = new GraphBuilder(1);
        String tokens = stem(g, GH, GW);
        // [1, 15, 8] -> [1, 3, 5, 8]: the tokens become rows and columns; (0, 2, 1, 3) then puts the 3 rows on axis -2
        String rows = g.op("Reshape", "rows_cols", tokens, g.ints("grid_shape", 1, GH, GW, C));
        g.op("Transpose", "cols_rows", List.of(rows), intsAttr("perm", 0, 2, 1, 3));
        // [1, 15, 2, 4] -> [1, 30, 4]: the heads are merged into the token axis
        String heads = g.op("Reshape", "split_heads", tokens, g.ints("heads_shape", 1, GH * GW, 2, 4));
        g.op("Reshape", "heads_into_tokens", heads, g.ints("wrong_merge", 1, 2 * GH * GW, 4));
        Map<String, TokenGrid> grids = infer(g);
        assertFalse(grids.containsKey("cols_rows_out"), grids.toString());
        assertFalse(grids.containsKey("heads_into_tokens_out"), grids.toString());
        assertEquals(Map.of("tokens", GRID), grids);
    }

    @Test
    void layerNormAddAndActivationsKeepTheGrid() {
        GraphBuilder g = new GraphBuilder(1);
        String tokens = stem(g, GH, GW);
        String ln = g.op("LayerNormalization", "ln", List.of(tokens, g.weight("g", 1f, C), g.weight("b", 0.1f, C)), intAttr("axis", -1));
        String pos = g.op("Add", "pos", g.weight("pos_embed", 0.5f, GH * GW, C), ln); // tokens as the second operand
        g.op("Gelu", "gelu", pos);
        Map<String, TokenGrid> grids = infer(g);
        assertEquals(GRID, grids.get("ln_out"));
        assertEquals(GRID, grids.get("pos_out"));
        assertEquals(GRID, grids.get("gelu_out"));
    }

    @Test
    void anElementwiseOpThatRaisesTheRankOrAnUnlistedOpBreaksTheGrid() {
        GraphBuilder g = new GraphBuilder(1);
        String tokens = stem(g, GH, GW);
        g.op("Add", "broadcast_up", tokens, g.weight("heads_bias", 0.1f, 2, 1, 1, C)); // [2, 1, 15, 8]
        g.op("Slice", "slice", tokens, g.ints("starts", 0), g.ints("ends", 4), g.ints("axes", 1));
        g.op("Gather", "gather", tokens, g.scalarInt("idx", 0));
        assertEquals(Map.of("tokens", GRID), infer(g));
    }

    @Test
    void reducingTheFeatureAxisKeepsTheGridButReducingTokensOrDroppingAxesBreaksIt() {
        GraphBuilder g = new GraphBuilder(1);
        String tokens = stem(g, GH, GW);
        g.op("ReduceMean", "mean_features", List.of(tokens), intsAttr("axes", -1));
        g.op("ReduceMax", "max_features", List.of(tokens), intsAttr("axes", 2), intAttr("keepdims", 1));
        g.op("ReduceSum", "sum_features_input", tokens, g.ints("axes_last", -1)); // opset-13 style axes input
        g.op("ReduceMean", "mean_tokens", List.of(tokens), intsAttr("axes", 1));
        g.op("ReduceMean", "mean_tokens_negative", List.of(tokens), intsAttr("axes", -2));
        g.op("ReduceSum", "sum_tokens_input", tokens, g.ints("axes_tokens", 1));
        g.op("ReduceMean", "mean_features_dropped", List.of(tokens), intsAttr("axes", -1), intAttr("keepdims", 0));
        g.op("ReduceMean", "mean_all", tokens); // no axes: every axis, the tokens included
        g.input("runtime_axes", 1);
        g.op("ReduceSum", "sum_runtime_axes", tokens, "runtime_axes");
        Map<String, TokenGrid> grids = infer(g);
        assertEquals(Map.of("tokens", GRID, "mean_features_out", GRID, "max_features_out", GRID, "sum_features_input_out", GRID), grids);
    }

    @Test
    void aDynamicWidthGivesWidthMinusOne() {
        GraphBuilder g = new GraphBuilder(1);
        stem(g, GH, "w");
        assertEquals(Map.of("tokens", new TokenGrid(GH, -1, 0, 1, 3)), infer(g));
    }

    @Test
    void aDynamicOrUnknownHeightGivesNoGrid() {
        GraphBuilder g = new GraphBuilder(1);
        stem(g, "h", GW);
        assertEquals(Map.of(), infer(g));

        // no shape at all for the image: the Conv's output rank is unknown
        GraphBuilder noShape = new GraphBuilder(1);
        noShape.input("image");
        String conv = noShape.op("Conv", "patchify", List.of("image", noShape.weight("Wpatch", 0.2f, C, 3, 4, 4)),
                intsAttr("kernel_shape", 4, 4), intsAttr("strides", 4, 4));
        String flat = noShape.op("Reshape", "flatten", conv, noShape.ints("flat_shape", 1, C, -1));
        noShape.op("Transpose", "to_tokens", List.of(flat), intsAttr("perm", 0, 2, 1));
        assertEquals(Map.of(), infer(noShape));
    }

    /** A stem on a dynamic image whose Conv output shape comes only from value_info [1, C, h, w]. */
    private static Map<String, TokenGrid> declaredStem(long h, long w) {
        GraphBuilder g = new GraphBuilder(1);
        stem(g, "H", "W");
        g.graph().addValueInfo(OnnxMl.ValueInfoProto.newBuilder().setName("patchify_out").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                        .setShape(OnnxMl.TensorShapeProto.newBuilder()
                                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1))
                                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(C))
                                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(h))
                                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(w))))).build());
        return infer(g);
    }

    @Test
    void gridSidesFromValueInfoAreTakenUpTo2To14() {
        assertEquals(1 << 14, TokenGridInference.MAX_GRID_SIDE);
        assertEquals(Map.of("tokens", new TokenGrid(6, 7, 0, 1, 3)), declaredStem(6, 7));
        assertEquals(Map.of("tokens", new TokenGrid(1 << 14, 1 << 14, 0, 1, 3)), declaredStem(1 << 14, 1 << 14));
    }

    @Test
    void implausibleGridSidesFromValueInfoGiveNoGrid() {
        assertEquals(Map.of(), declaredStem((1 << 14) + 1, 4));
        assertEquals(Map.of(), declaredStem(4, (1 << 14) + 1));
        assertEquals(Map.of(), declaredStem(1L << 40, 4)); // would overflow an int grid side
        assertEquals(Map.of(), declaredStem(0, 4));
    }

    @Test
    void nodesOfOtherDomainsAreNotFollowed() {
        GraphBuilder g = new GraphBuilder(1);
        String tokens = stem(g, GH, GW);
        g.op("LayerNormalization", "custom_ln", List.of(tokens, g.weight("g", 1f, C)));
        OnnxMl.GraphProto.Builder b = g.graph();
        b.setNode(b.getNodeCount() - 1, b.getNode(b.getNodeCount() - 1).toBuilder().setDomain("com.microsoft"));
        Map<String, TokenGrid> grids = TokenGridInference.infer(new Graph(b.build()));
        assertEquals(Map.of("tokens", GRID), grids);
    }
}
