package ai.stamp.compiler.passes.embedding;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampMetadata;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.PassManager;
import ai.stamp.testmodels.GraphBuilder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code --quantize-embeddings}: Gather of a float32 [V, E] table along axis 0 → int8 per row. The expected values
 * are worked out here from the formula (s = max|row| / 127, 1 for an all-zero row; q = clamp(rint(w / s), ±127)), and
 * ONNX Runtime runs the graphs before and after.
 */
class EmbeddingQuantizationTest {
    private static final int V = 40, E = 16, P = 8, S = 5;
    private static final LayerSelection ALL = new LayerSelection(Optional.empty(), false);
    private static final float[] WORD = wordTable();
    /** Token ids, [2, S]: the all-zero row 0, the tie row 1, the last row, and -1 (Gather counts it from the end). */
    private static final Ort.Longs IDS = new Ort.Longs(new long[] {0, 1, 7, V - 1, -1, 3, 3, 1, 12, 25}, new long[] {2, S});
    private static final Ort.Longs POS_IDS = new Ort.Longs(new long[] {0, 1, 2, 3, 4, 0, 1, 2, 3, 4}, new long[] {2, S});

    /** Row 0 all zero; row 1 with max 127 (scale exactly 1) and ties at .5; the others Gaussian with varied magnitude. */
    private static float[] wordTable() {
        float[] t = new float[V * E];
        float[] ties = {127f, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f, 1.5f, 126.5f, -127f, 0.49f, -1.5f, 64.5f, 0f, 10.5f, -0.51f};
        System.arraycopy(ties, 0, t, E, E);
        Random r = new Random(17);
        for (int row = 2; row < V; row++) {
            double mag = Math.pow(10, r.nextInt(5) - 2);
            for (int e = 0; e < E; e++) t[row * E + e] = (float) (r.nextGaussian() * mag);
        }
        return t;
    }

    // ---- the formula, independently of RowQuantizer

    private static float scale(float[] t, int cols, int row) {
        float max = 0f;
        for (int e = 0; e < cols; e++) max = Math.max(max, Math.abs(t[row * cols + e]));
        return max == 0f ? 1f : max / 127f;
    }

    private static int q(float w, float s) { return (int) Math.max(-127, Math.min(127, Math.rint((double) w / s))); }

    // ---- models

    /** we = Gather(word, ids) [2, S, E] (an output too), pe = Gather(pos, pos_ids), y = Add(we, pe). */
    private static OnnxMl.ModelProto embeddings(int opset, long ir) {
        GraphBuilder g = new GraphBuilder(5);
        g.intInput("ids", 2L, "seq");
        g.intInput("pos_ids", 2L, "seq");
        g.output("we", 2L, "seq", (long) E);
        g.output("y", 2L, "seq", (long) E);
        g.initializer("word", WORD, V, E);
        g.weight("pos", 0.3f, P, E);
        g.node("Gather", "word_lookup", List.of("word", "ids"), List.of("we"));
        g.node("Gather", "pos_lookup", List.of("pos", "pos_ids"), List.of("pe"));
        g.node("Add", "sum", List.of("we", "pe"), List.of("y"));
        return g.model(opset, ir);
    }

    private static OnnxMl.ModelProto embeddings() { return embeddings(17, 8); }

    private static EmbeddingQuantizationPass pass() { return new EmbeddingQuantizationPass(ALL); }

    private static OnnxMl.ModelProto run(OnnxMl.ModelProto m, LayerSelection selection) {
        return new PassManager(new ModelEditor(m)).run(new EmbeddingQuantizationPass(selection));
    }

    private static OnnxMl.ModelProto run(OnnxMl.ModelProto m) { return run(m, ALL); }

    private static Map<String, float[]> ort(OnnxMl.ModelProto m) { return Ort.run(m, Map.of("ids", IDS, "pos_ids", POS_IDS)); }

    static TensorProto init(OnnxMl.GraphProto g, String name) {
        return g.getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst().orElseThrow(() -> new AssertionError("no initializer " + name));
    }

    static String inits(OnnxMl.GraphProto g) {
        return g.getInitializerList().stream().map(t -> t.getName() + ":" + TensorProto.DataType.forNumber(t.getDataType()) + t.getDimsList())
                .collect(Collectors.joining(" "));
    }

    private static byte[] int8(TensorProto t) {
        assertEquals(TensorProto.DataType.INT8_VALUE, t.getDataType());
        return t.getRawData().toByteArray();
    }

    private static int row(long id, int rows) { return (int) (id < 0 ? id + rows : id); }

    // ---- tests

    @Test
    void valuesAreThePerRowFormulaExactlyAndOrtReadsQTimesS() {
        OnnxMl.ModelProto before = embeddings();
        byte[] input = before.toByteArray();
        EmbeddingQuantizationPass.Plan plan = pass().plan(before);
        assertEquals(2, plan.quantized().size());
        assertEquals(List.of(), plan.skipped());
        assertTrue(plan.tables().stream().allMatch(EmbeddingQuantizationPass.TableFate::dropped));
        OnnxMl.ModelProto after = new PassManager(new ModelEditor(before)).apply(pass(), plan);
        assertEquals("""
                we = Gather(word, ids)
                pe = Gather(pos, pos_ids)
                y = Add(we, pe)""", GraphDump.of(before.getGraph()));
        assertEquals("""
                we_int8 = Gather(word_int8, ids)
                we_dequantized = Cast(we_int8)
                we_row_scale = Gather(word_row_scale, ids)
                we = Mul(we_dequantized, we_row_scale)
                pe_int8 = Gather(pos_int8, pos_ids)
                pe_dequantized = Cast(pe_int8)
                pe_row_scale = Gather(pos_row_scale, pos_ids)
                pe = Mul(pe_dequantized, pe_row_scale)
                y = Add(we, pe)""", GraphDump.of(after.getGraph()));
        assertEquals("word_int8:INT8[40, 16] word_row_scale:FLOAT[40, 1] pos_int8:INT8[8, 16] pos_row_scale:FLOAT[8, 1]", inits(after.getGraph()),
                "the float tables go: only the quantized Gathers read them");
        OnnxMl.NodeProto lookup = after.getGraph().getNode(0);
        assertEquals("word_lookup", lookup.getName(), "the int8 lookup keeps the Gather's name");
        assertEquals("stamp-onnx embedding-quantization for word_lookup: was Gather of float table 'word'", lookup.getDocString());
        assertEquals("stamp-onnx embedding-quantization for word_lookup", after.getGraph().getNode(1).getDocString());
        assertEquals(TensorProto.DataType.FLOAT_VALUE, after.getGraph().getNode(1).getAttribute(0).getI(), "Cast to float");

        byte[] values = int8(init(after.getGraph(), "word_int8"));
        float[] scales = Tensors.floats(init(after.getGraph(), "word_row_scale"));
        for (int r = 0; r < V; r++) {
            float s = scale(WORD, E, r);
            assertEquals(s, scales[r], "scale of row " + r);
            for (int e = 0; e < E; e++) assertEquals(q(WORD[r * E + e], s), values[r * E + e], "q[" + r + ", " + e + "]");
        }
        assertEquals(1f, scales[0], "an all-zero row has scale 1");
        assertEquals(1f, scales[1]);
        assertArrayEquals(new byte[] {127, 2, 4, -2, -4, 0, 0, 2, 126, -127, 0, -2, 64, 0, 10, -1},
                java.util.Arrays.copyOfRange(values, E, 2 * E), "round half to even");

        float[] we = ort(after).get("we");
        for (int i = 0; i < IDS.data().length; i++) {
            int r = row(IDS.data()[i], V);
            for (int e = 0; e < E; e++) assertEquals(values[r * E + e] * scales[r], we[i * E + e], "lookup " + i + " at " + e);
        }
        assertArrayEquals(input, before.toByteArray(), "the input model is not modified");
    }

    @Test
    void theErrorOfEveryLookedUpValueIsAtMostHalfAStep() {
        OnnxMl.ModelProto before = embeddings();
        OnnxMl.ModelProto after = run(before);
        Map<String, float[]> a = ort(before), b = ort(after);
        float[] pos = Tensors.floats(init(before.getGraph(), "pos"));
        double worst = 0;
        for (int i = 0; i < IDS.data().length; i++) {
            int r = row(IDS.data()[i], V), p = row(POS_IDS.data()[i], P);
            float sw = scale(WORD, E, r), sp = scale(pos, E, p);
            for (int e = 0; e < E; e++) {
                int k = i * E + e;
                double errWe = Math.abs(a.get("we")[k] - b.get("we")[k]);
                assertTrue(errWe <= sw / 2 * (1 + 1e-6), "we " + k + ": error " + errWe + " > half the step " + sw);
                double errY = Math.abs(a.get("y")[k] - b.get("y")[k]);
                assertTrue(errY <= (sw + sp) / 2 * (1 + 1e-5) + Math.ulp(Math.abs(a.get("y")[k])), "y " + k + ": error " + errY);
                worst = Math.max(worst, errWe / sw);
            }
        }
        assertTrue(worst > 0.3 && worst <= 0.5 + 1e-6, "the error reaches towards half a step: " + worst);
    }

    /** w1 = Gather(word, ids), w2 = Gather(word, ids) again, logits = MatMul(w1, Transpose(word)): a tied output layer. */
    private static OnnxMl.ModelProto tied() {
        GraphBuilder g = new GraphBuilder(5);
        g.intInput("ids", 2L, "seq");
        g.output("logits", 2L, "seq", (long) V);
        g.output("w2", 2L, "seq", (long) E);
        g.initializer("word", WORD, V, E);
        g.node("Gather", "lookup", List.of("word", "ids"), List.of("w1"));
        g.node("Gather", "lookup_again", List.of("word", "ids"), List.of("w2"));
        g.node("Transpose", "tie", List.of("word"), List.of("word_t"), GraphBuilder.intsAttr("perm", 1, 0));
        g.node("MatMul", "lm_head", List.of("w1", "word_t"), List.of("logits"));
        return g.model(17, 8);
    }

    @Test
    void aTableAlsoReadByATiedOutputLayerIsKeptAndReportedAndItsTwoLookupsShareOneInt8Table() {
        OnnxMl.ModelProto before = tied();
        EmbeddingQuantizationPass.Plan plan = pass().plan(before);
        List<StampReport.Embedding> report = plan.quantized();
        assertEquals(2, report.size());
        assertEquals(1, plan.tables().size(), "one table, quantized once");
        for (StampReport.Embedding e : report) {
            assertEquals("word", e.table());
            assertEquals(List.of((long) V, (long) E), e.shape());
            assertTrue(e.floatTableKept());
            assertTrue(e.detail().endsWith("float table 'word' kept: also read by Transpose 'tie'"), e.detail());
        }
        assertEquals(List.of("lookup", "lookup_again"), report.stream().map(StampReport.Embedding::name).toList());
        assertEquals(List.of("w1", "w2"), report.stream().map(StampReport.Embedding::output).toList());
        OnnxMl.ModelProto after = new PassManager(new ModelEditor(before)).apply(pass(), plan);
        assertEquals("""
                w1_int8 = Gather(word_int8, ids)
                w1_dequantized = Cast(w1_int8)
                w1_row_scale = Gather(word_row_scale, ids)
                w1 = Mul(w1_dequantized, w1_row_scale)
                w2_int8 = Gather(word_int8, ids)
                w2_dequantized = Cast(w2_int8)
                w2_row_scale = Gather(word_row_scale, ids)
                w2 = Mul(w2_dequantized, w2_row_scale)
                word_t = Transpose(word)
                logits = MatMul(w1, word_t)""", GraphDump.of(after.getGraph()));
        assertEquals("word:FLOAT[40, 16] word_int8:INT8[40, 16] word_row_scale:FLOAT[40, 1]", inits(after.getGraph()));
        Map<String, float[]> a = Ort.run(before, Map.of("ids", IDS)), b = Ort.run(after, Map.of("ids", IDS));
        assertTrue(Ort.sqnrDb(a.get("logits"), b.get("logits")) > 35, "SQNR " + Ort.sqnrDb(a.get("logits"), b.get("logits")));
    }

    /**
     * Next to a 1-row table: a Gather along axis 1, an int64 table, a table that is also a graph input (overridable at
     * IR ≥ 4), and a table that is only a graph input (a run-time value).
     */
    private static OnnxMl.ModelProto mixed(long ir) {
        GraphBuilder g = new GraphBuilder(9);
        g.intInput("ids", 2L, "seq");
        g.input("runtime", (long) V, (long) E);
        g.input("over", (long) V, (long) E);
        for (String o : List.of("one_out", "cols_out", "int_out", "over_out", "runtime_out")) g.output(o);
        float[] one = new float[E];
        for (int e = 0; e < E; e++) one[e] = (e - 7) * 0.25f;
        g.initializer("one", one, 1, E);
        g.graph().addInitializer(OnnxMl.TensorProto.newBuilder().setName("zero").setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(3).addInt64Data(0).addInt64Data(0).addInt64Data(-1));
        g.node("Gather", "one_lookup", List.of("one", "zero"), List.of("one_out"));
        g.weight("cols", 0.5f, V, E);
        g.node("Gather", "cols_lookup", List.of("cols", "ids"), List.of("cols_out"), GraphBuilder.intAttr("axis", 1));
        OnnxMl.TensorProto.Builder ints = OnnxMl.TensorProto.newBuilder().setName("int_table").setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(V).addDims(2);
        for (int i = 0; i < 2 * V; i++) ints.addInt64Data(i);
        g.graph().addInitializer(ints);
        g.node("Gather", "int_lookup", List.of("int_table", "ids"), List.of("int_ids"));
        g.node("Cast", "int_float", List.of("int_ids"), List.of("int_out"), GraphBuilder.intAttr("to", TensorProto.DataType.FLOAT_VALUE));
        g.weight("over", 0.5f, V, E);
        g.node("Gather", "over_lookup", List.of("over", "ids"), List.of("over_out"));
        g.node("Gather", "runtime_lookup", List.of("runtime", "ids"), List.of("runtime_out"));
        return g.model(17, ir);
    }

    @Test
    void aOneRowTableIsQuantizedWhileAxisOneIntegerOverridableAndRunTimeTablesAreLeftAlone() {
        OnnxMl.ModelProto before = mixed(8);
        EmbeddingQuantizationPass.Plan plan = pass().plan(before);
        assertEquals(List.of("one_lookup"), plan.quantized().stream().map(StampReport.Embedding::name).toList());
        assertEquals(List.of("cols_lookup gather-axis", "over_lookup overridable-weight"),
                plan.skipped().stream().map(s -> s.name() + " " + s.code()).toList(), "the int64 and run-time tables are not reported");
        assertEquals("Gather 'cols_lookup' reads table 'cols' along axis 1 (columns); per-row scales need a row lookup (axis 0): left as it is",
                plan.skipped().get(0).reason());
        assertEquals("table 'over' is also a graph input, so a caller may replace it at run time; quantizing it would bake today's value in:"
                + " left as it is", plan.skipped().get(1).reason());
        OnnxMl.ModelProto after = new PassManager(new ModelEditor(before)).apply(pass(), plan);
        assertEquals("""
                one_out_int8 = Gather(one_int8, zero)
                one_out_dequantized = Cast(one_out_int8)
                one_out_row_scale = Gather(one_row_scale, zero)
                one_out = Mul(one_out_dequantized, one_out_row_scale)
                cols_out = Gather(cols, ids)
                int_ids = Gather(int_table, ids)
                int_out = Cast(int_ids)
                over_out = Gather(over, ids)
                runtime_out = Gather(runtime, ids)""", GraphDump.of(after.getGraph()));
        assertEquals("zero:INT64[3] cols:FLOAT[40, 16] int_table:INT64[40, 2] over:FLOAT[40, 16] one_int8:INT8[1, 16] one_row_scale:FLOAT[1, 1]",
                inits(after.getGraph()));
        assertEquals(2f / 127f, Tensors.floats(init(after.getGraph(), "one_row_scale"))[0]);
        Ort.Longs ids = new Ort.Longs(new long[] {0, 3, 15, 2, 9, 1}, new long[] {2, 3});
        Ort.Tensor runtime = Ort.random(4, V, E);
        Map<String, float[]> a = Ort.run(before, Map.of("ids", ids, "runtime", runtime));
        Map<String, float[]> b = Ort.run(after, Map.of("ids", ids, "runtime", runtime));
        for (String o : List.of("cols_out", "int_out", "over_out", "runtime_out")) assertArrayEquals(a.get(o), b.get(o), o);
        byte[] q = int8(init(after.getGraph(), "one_int8"));
        float s = 2f / 127f;
        float[] one = b.get("one_out");
        assertEquals(3 * E, one.length);
        for (int i = 0; i < 3; i++) {
            for (int e = 0; e < E; e++) {
                assertEquals(q[e] * s, one[i * E + e], "row 0 (and row -1, the same one) at " + e);
                assertEquals(q((e - 7) * 0.25f, s), q[e]);
            }
        }
    }

    @Test
    void belowIrFourATableListedAsAnInputIsAConstantQuantizedButItsFloatCopyStaysInTheInputList() {
        OnnxMl.ModelProto before = mixed(3);
        EmbeddingQuantizationPass.Plan plan = pass().plan(before);
        assertEquals(List.of("one_lookup", "over_lookup"), plan.quantized().stream().map(StampReport.Embedding::name).toList());
        StampReport.Embedding over = plan.quantized().get(1);
        assertTrue(over.floatTableKept());
        assertTrue(over.detail().endsWith("float table 'over' kept: also read by the input list of graph main"), over.detail());
        assertFalse(plan.quantized().get(0).floatTableKept());
        OnnxMl.ModelProto after = new PassManager(new ModelEditor(before)).apply(pass(), plan);
        assertTrue(inits(after.getGraph()).contains("over:FLOAT[40, 16]"));
        assertTrue(inits(after.getGraph()).contains("over_int8:INT8[40, 16]"));
    }

    /** If(cond): then Gather(word, ids), else Neg(Gather(word, ids)); word is a main-graph initializer. */
    private static OnnxMl.ModelProto ifBranches() {
        GraphBuilder then = new GraphBuilder(1);
        then.node("Gather", "then_lookup", List.of("word", "ids"), List.of("t_out"));
        then.output("t_out");
        GraphBuilder otherwise = new GraphBuilder(1);
        otherwise.node("Gather", "else_lookup", List.of("word", "ids"), List.of("e_g"));
        otherwise.node("Neg", "neg", List.of("e_g"), List.of("e_out"));
        otherwise.output("e_out");
        GraphBuilder g = new GraphBuilder(5);
        g.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond").setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.BOOL_VALUE).setShape(OnnxMl.TensorShapeProto.getDefaultInstance()))));
        g.intInput("ids", 2L, "seq");
        g.output("we");
        g.initializer("word", WORD, V, E);
        g.node("If", "branch", List.of("cond"), List.of("we"), GraphBuilder.graphAttr("then_branch", then.graph().build()),
                GraphBuilder.graphAttr("else_branch", otherwise.graph().build()));
        return g.model(17, 8);
    }

    @Test
    void gathersInsideIfBranchesReadTheOuterTableAsInt8AndTheFloatTableGoes() {
        OnnxMl.ModelProto before = ifBranches();
        EmbeddingQuantizationPass.Plan plan = pass().plan(before);
        assertEquals(List.of("main/branch.then_branch then_lookup", "main/branch.else_branch else_lookup"),
                plan.quantized().stream().map(e -> e.graph() + " " + e.name()).toList());
        OnnxMl.ModelProto after = new PassManager(new ModelEditor(before)).apply(pass(), plan);
        assertEquals("word_int8:INT8[40, 16] word_row_scale:FLOAT[40, 1]", inits(after.getGraph()), "added once, to the graph that held the table");
        OnnxMl.NodeProto branch = after.getGraph().getNode(0);
        assertEquals("""
                t_out_int8 = Gather(word_int8, ids)
                t_out_dequantized = Cast(t_out_int8)
                t_out_row_scale = Gather(word_row_scale, ids)
                t_out = Mul(t_out_dequantized, t_out_row_scale)""", GraphDump.of(branch.getAttribute(0).getG()));
        assertEquals("""
                e_g_int8 = Gather(word_int8, ids)
                e_g_dequantized = Cast(e_g_int8)
                e_g_row_scale = Gather(word_row_scale, ids)
                e_g = Mul(e_g_dequantized, e_g_row_scale)
                e_out = Neg(e_g)""", GraphDump.of(branch.getAttribute(1).getG()));
        byte[] q = int8(init(after.getGraph(), "word_int8"));
        float[] s = Tensors.floats(init(after.getGraph(), "word_row_scale"));
        for (boolean cond : new boolean[] {true, false}) {
            float[] we = Ort.run(after, Map.of("cond", cond, "ids", IDS)).get("we");
            float[] original = Ort.run(before, Map.of("cond", cond, "ids", IDS)).get("we");
            for (int i = 0; i < IDS.data().length; i++) {
                int r = row(IDS.data()[i], V);
                for (int e = 0; e < E; e++) {
                    float expected = q[r * E + e] * s[r];
                    assertEquals(cond ? expected : -expected, we[i * E + e]);
                    assertTrue(Math.abs(we[i * E + e] - original[i * E + e]) <= s[r] / 2 * (1 + 1e-6));
                }
            }
        }
    }

    @Test
    void theRewriteRunsAtEveryOpsetFrom11To21() {
        for (int opset : new int[] {11, 13, 17, 21}) {
            OnnxMl.ModelProto before = embeddings(opset, opset >= 21 ? 10 : 7);
            OnnxMl.ModelProto after = run(before);
            Map<String, float[]> a = ort(before), b = ort(after);
            double sqnr = Ort.sqnrDb(a.get("y"), b.get("y"));
            assertTrue(sqnr > 35, "opset " + opset + ": SQNR " + sqnr);
            assertEquals(opset, after.getOpsetImport(0).getVersion());
            assertEquals(1, after.getOpsetImportCount(), "standard ops only");
        }
    }

    @Test
    void aQuantizedModelIsNotQuantizedAgainAndExcludedGathersAreLeftAlone() {
        OnnxMl.ModelProto once = run(embeddings());
        EmbeddingQuantizationPass.Plan again = pass().plan(once);
        assertEquals(List.of(), again.quantized());
        assertEquals(List.of("word_lookup already-quantized", "word_lookup/stamp/Gather already-quantized", "pos_lookup already-quantized",
                "pos_lookup/stamp/Gather already-quantized"), again.skipped().stream().map(s -> s.name() + " " + s.code()).toList(),
                "the int8 lookups and the row-scale lookups");
        assertEquals("table 'word_int8' is an int8 initializer: already quantized, left as it is", again.skipped().get(0).reason());
        assertEquals("table 'word_row_scale' holds the row scales of a quantized embedding (Mul with Cast of a Gather of an int8 table):"
                + " left as it is", again.skipped().get(1).reason());

        LayerSelection pos = new LayerSelection(Optional.of(Pattern.compile("^pos")), false);
        EmbeddingQuantizationPass.Plan p = new EmbeddingQuantizationPass(pos).plan(embeddings());
        assertEquals(List.of("pos_lookup excluded excluded by --exclude '^pos'"),
                p.skipped().stream().map(s -> s.name() + " " + s.code() + " " + s.reason()).toList());
        OnnxMl.ModelProto excluded = run(embeddings(), pos);
        assertEquals("pos:FLOAT[8, 16] word_int8:INT8[40, 16] word_row_scale:FLOAT[40, 1]", inits(excluded.getGraph()));
        assertTrue(GraphDump.of(excluded.getGraph()).contains("pe = Gather(pos, pos_ids)"));
    }

    @Test
    void theCompilerRunsThePassOnlyWhenAskedAndReportsIt() {
        OnnxMl.ModelProto m = embeddings();
        StampResult off = StampCompiler.compile(m, StampConfig.defaults());
        assertEquals(List.of(), off.report().embeddings());
        assertEquals(m.getGraph(), off.model().getGraph(), "off by default");
        assertFalse(StampConfig.defaults().quantizeEmbeddings());

        StampConfig config = StampConfig.builder().quantizeEmbeddings(true).build();
        assertTrue(config.toString().endsWith(" quantize-embeddings"), config.toString());
        assertTrue(config.toBuilder().build().quantizeEmbeddings());
        StampResult on = StampCompiler.compile(m, config);
        StampReport r = on.report();
        assertEquals(List.of("word_lookup", "pos_lookup"), r.embeddings().stream().map(StampReport.Embedding::name).toList());
        assertEquals(2, r.embeddingTables());
        assertEquals("int8 per row (40 row scales, max " + String.format(java.util.Locale.ROOT, "%.3g", maxScale()) + "): 2.50 KiB -> 0.78 KiB;"
                + " float table dropped", r.embeddings().get(0).detail());
        assertEquals(List.of(), r.rewritten(), "no MatMul here");
        Map<String, String> meta = new HashMap<>();
        on.model().getMetadataPropsList().forEach(e -> meta.put(e.getKey(), e.getValue()));
        assertEquals(config.toString(), meta.get(StampMetadata.CONFIG));
        assertFalse(meta.containsKey(StampMetadata.LAYERS));
        assertEquals(GraphDump.of(run(m).getGraph()), GraphDump.of(on.model().getGraph()));
        assertTrue(r.toJson().contains("\"embeddings\": ["), r.toJson());
        assertEquals(StampCompiler.prepare(m, config, ai.stamp.compiler.io.ExternalWeights.NONE).plan(ai.stamp.compiler.calibration.CalibrationStats.NONE)
                .report().embeddings(), r.embeddings(), "the plan's report (inspect, --dry-run) says the same");
    }

    private static float maxScale() {
        float m = 0f;
        for (int r = 0; r < V; r++) m = Math.max(m, scale(WORD, E, r));
        return m;
    }

    @Test
    void theRuleRefusesNonFloat32AndNonFiniteTables() {
        OnnxMl.ModelProto m = embeddings();
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        float[] bad = WORD.clone();
        bad[5 * E + 3] = Float.NaN;
        g.setInitializer(0, Tensors.floatTensor(bad, V, E).toBuilder().setName("word"));
        g.setInitializer(1, g.getInitializer(1).toBuilder().setDataType(TensorProto.DataType.DOUBLE_VALUE).clearFloatData()
                .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[P * E * 8])));
        OnnxMl.ModelProto variant = m.toBuilder().setGraph(g).build();
        EmbeddingQuantizationRule rule = new EmbeddingQuantizationRule(ALL, true);
        ai.stamp.compiler.ir.Graph graph = new ai.stamp.compiler.ir.Graph(variant.getGraph());
        Match<EmbeddingQuantizationRule.Plan> word = rule.match(graph, graph.nodes().get(0));
        Match<EmbeddingQuantizationRule.Plan> pos = rule.match(graph, graph.nodes().get(1));
        assertEquals("non-finite-weight: table 'word' holds NaN or an infinity, which has no int8 scale: left as it is",
                ((Match.Refused<EmbeddingQuantizationRule.Plan>) word).refusal().toString());
        assertEquals("weight-type: table 'pos' is double; embedding quantization reads float32 tables only: left as it is",
                ((Match.Refused<EmbeddingQuantizationRule.Plan>) pos).refusal().toString());
        assertTrue(rule.match(graph, graph.nodes().get(2)) instanceof Match.NotApplicable<EmbeddingQuantizationRule.Plan>, "Add");

        OnnxMl.GraphProto.Builder ext = m.getGraph().toBuilder();
        ext.setInitializer(0, TensorProto.newBuilder().setName("word").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(V).addDims(E)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue("word.bin")));
        ai.stamp.compiler.ir.Graph external = new ai.stamp.compiler.ir.Graph(ext.build());
        assertEquals("external-data: table 'word' is stored as external data, which embedding quantization does not read: left as float",
                ((Match.Refused<EmbeddingQuantizationRule.Plan>) rule.match(external, external.nodes().get(0))).refusal().toString());
    }
}
