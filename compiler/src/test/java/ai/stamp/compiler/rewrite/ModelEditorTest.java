package ai.stamp.compiler.rewrite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.ops.HaarSequence;
import ai.stamp.ops.MixedPrecisionQdq;
import ai.stamp.ops.StampDomain;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The one mutator: fresh names, per-graph edits in place, nested bodies, and the model-level edits of build(). */
class ModelEditorTest {
    /** x [4, 3] → Relu 'a' → Sigmoid 'b' → Neg 'c' → y, with float initializers W and V (unused). */
    private static OnnxMl.ModelProto chain() {
        GraphBuilder b = new GraphBuilder(1);
        b.input("x", 4, 3);
        b.weight("W", 1f, 3, 3);
        b.weight("V", 1f, 3);
        b.node("Relu", "a", List.of("x"), List.of("a_out"));
        b.node("Sigmoid", "b", List.of("a_out"), List.of("b_out"));
        b.node("Neg", "c", List.of("b_out"), List.of("y"));
        b.output("y", 4, 3);
        return b.model(17, 8);
    }

    /** x [seq, 4] → Identity 'pre' → If 'if' (each branch: MatMul(x, W_outer) → act) → Identity 'post' → z. */
    private static OnnxMl.ModelProto ifModel() {
        OnnxMl.ModelProto m = TinyGraphs.linearInsideIf(17, 4, 3);
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        NodeProto ifNode = g.getNode(0);
        g.clearNode()
                .addNode(NodeProto.newBuilder().setOpType("Identity").setName("pre").addInput("x").addOutput("x_pre"))
                .addNode(ifNode)
                .addNode(NodeProto.newBuilder().setOpType("Identity").setName("post").addInput("y").addOutput("z"));
        g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("z").setType(g.getOutput(0).getType()));
        return m.toBuilder().setGraph(g).build();
    }

    private static NodeProto node(OnnxMl.GraphProto g, String name) {
        return g.getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow();
    }

    private static OnnxMl.GraphProto body(NodeProto n, String attr) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(attr)).findFirst().orElseThrow().getG();
    }

    private static Graph branch(Graph main, String ifName, int index) {
        return main.subgraphs(node(main.proto(), ifName)).get(index);
    }

    private static String inits(OnnxMl.GraphProto g) {
        return g.getInitializerList().stream().map(t -> t.getName() + t.getDimsList()).collect(Collectors.joining(" "));
    }

    // ---- fresh names ----

    @Test
    void freshNamesAvoidEveryNameOfTheMainGraphItsBodiesAndItsFunctions() {
        OnnxMl.FunctionProto f = OnnxMl.FunctionProto.newBuilder().setDomain("local").setName("F").addInput("fa").addOutput("fo")
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("f_node").addInput("fa").addOutput("f_tmp"))
                .addNode(NodeProto.newBuilder().setOpType("Neg").setName("f_node2").addInput("f_tmp").addOutput("fo")).build();
        OnnxMl.ModelProto m = ifModel().toBuilder().addFunctions(f).build();
        ModelEditor e = new ModelEditor(m);
        // main graph: input, initializer, node name, node output
        for (String taken : List.of("x", "cond", "W_outer", "pre", "x_pre", "if", "y", "post", "z",
                // both If branches: node names and outputs
                "then_linear", "then_mm", "then_act", "then_y", "else_linear", "else_mm", "else_act", "else_y",
                // the model's functions: node names and outputs
                "f_node", "f_tmp", "f_node2", "fo")) {
            String fresh = e.fresh(taken);
            assertNotEquals(taken, fresh);
            assertTrue(fresh.startsWith(taken + "_"), fresh);
        }
        assertEquals("new_name", e.fresh("new_name"));
        assertEquals("new_name_22", e.fresh("new_name"), "one counter for the whole editor");
        assertEquals("a_b_c/d:e.f-g", e.fresh("a b?c/d:e.f-g"), "characters outside [A-Za-z0-9_./:-] become _");
    }

    @Test
    void freshNamesNeverRepeatAndSurviveCommitIntoTheNextPass() {
        ModelEditor e = new ModelEditor(chain());
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) assertTrue(seen.add(e.fresh(i % 2 == 0 ? "t" : "a_out")));
        // first pass: a node named and writing fresh names
        Graph g = new Graph(e.current().getGraph());
        GraphEditor edit = e.graph(g, "pass1");
        NodeProto b = node(g.proto(), "b");
        String mid = edit.fresh("mid");
        NodeProto tanh = edit.node("Tanh", List.of("a_out"), List.of(mid), "b");
        edit.replace(b, List.of(tanh, edit.node("Sigmoid", List.of(mid), List.of("b_out"), "b")));
        OnnxMl.ModelProto committed = e.commit();
        assertEquals("""
                a_out = Relu(x)
                mid = Tanh(a_out)
                b_out = Sigmoid(mid)
                y = Neg(b_out)""", GraphDump.of(committed.getGraph()));
        assertEquals(List.of("a", "b/stamp/Tanh", "b/stamp/Sigmoid", "c"),
                committed.getGraph().getNodeList().stream().map(NodeProto::getName).toList());
        // second pass, on the committed model: the names the first pass made are taken, and so is the removed 'b'
        GraphEditor edit2 = e.graph(new Graph(e.current().getGraph()), "pass2");
        for (String taken : List.of("mid", "b/stamp/Tanh", "b/stamp/Sigmoid", "b")) assertNotEquals(taken, edit2.fresh(taken));
        for (String hint : List.of("t", "mid", "a_out")) assertTrue(seen.add(edit2.fresh(hint)), "fresh after commit too");
    }

    // ---- GraphEditor ----

    @Test
    void replaceKeepsTheTopologicalPositionAndRemoveDropsTheNode() {
        OnnxMl.ModelProto m = chain();
        ModelEditor e = new ModelEditor(m);
        Graph g = new Graph(m.getGraph());
        GraphEditor edit = e.graph(g, "t");
        NodeProto b = node(m.getGraph(), "b");
        edit.replace(b, List.of(edit.node("Abs", List.of("a_out"), List.of("abs"), "b"),
                edit.node("Sigmoid", List.of("abs"), List.of("b_out"), "b")));
        edit.remove(node(m.getGraph(), "a"));
        assertEquals("""
                abs = Abs(a_out)
                b_out = Sigmoid(abs)
                y = Neg(b_out)""", GraphDump.of(e.commit().getGraph()));
    }

    @Test
    void replacingOrRemovingANodeTwiceThrows() {
        OnnxMl.ModelProto m = chain();
        ModelEditor e = new ModelEditor(m);
        Graph g = new Graph(m.getGraph());
        GraphEditor edit = e.graph(g, "t");
        NodeProto b = node(m.getGraph(), "b");
        edit.replace(b, List.of());
        IllegalStateException ex = assertThrows(IllegalStateException.class, () -> edit.replace(b, List.of()));
        assertEquals("node b replaced twice", ex.getMessage());
        assertThrows(IllegalStateException.class, () -> edit.remove(b));
        // the same graph's edits, whichever editor view asks
        assertThrows(IllegalStateException.class, () -> edit.as("other").remove(b));
        assertThrows(IllegalStateException.class, () -> e.graph(new Graph(m.getGraph()), "again").remove(b));
        NodeProto unnamed = NodeProto.newBuilder().setOpType("Relu").addInput("x").addOutput("r").build();
        OnnxMl.ModelProto m2 = m.toBuilder().setGraph(m.getGraph().toBuilder().addNode(unnamed)).build();
        Graph g2 = new Graph(m2.getGraph());
        GraphEditor edit2 = new ModelEditor(m2).graph(g2, "t");
        NodeProto u = g2.nodes().get(3);
        edit2.remove(u);
        assertEquals("node Relu(r) replaced twice", assertThrows(IllegalStateException.class, () -> edit2.remove(u)).getMessage());
    }

    @Test
    void initializersAreAddedUnderFreshNamesReplacedAndRemoved() {
        OnnxMl.ModelProto m = chain();
        ModelEditor e = new ModelEditor(m);
        Graph g = new Graph(m.getGraph());
        GraphEditor edit = e.graph(g, "t");
        OnnxMl.TensorProto t = Tensors.floatTensor(new float[] {1, 2}, 2).toBuilder().setName("its_own_name").build();
        String w = edit.addInitializer("W", t);
        String n = edit.addInitializer("N", t);
        assertEquals("W_1", w, "W is taken");
        assertEquals("N", n);
        // 'b' (Sigmoid of a runtime tensor here, but any single-output node) becomes an initializer named as its output
        edit.replaceByInitializer(node(m.getGraph(), "b"), Tensors.floatTensor(new float[] {5, 6, 7}, 3).toBuilder().setName("ignored").build());
        edit.removeInitializer("V");
        OnnxMl.GraphProto out = e.commit().getGraph();
        assertEquals("W[3, 3] W_1[2] N[2] b_out[3]", inits(out), "kept ones in order, then the added ones in order");
        assertTrue(out.getInitializerList().stream().noneMatch(x -> x.getName().equals("its_own_name") || x.getName().equals("ignored")));
        assertArrayEquals(new float[] {5, 6, 7}, Tensors.floats(out.getInitializer(3)));
        assertEquals("""
                a_out = Relu(x)
                y = Neg(b_out)""", GraphDump.of(out));
        assertNotEquals(w, e.fresh("W_1"), "added initializer names are taken");
    }

    @Test
    void nodesSayWhoMadeThemAndAReplacingNodeKeepsTheOriginalName() {
        OnnxMl.ModelProto m = chain();
        ModelEditor e = new ModelEditor(m);
        Graph g = new Graph(m.getGraph());
        GraphEditor edit = e.graph(g, "maker-one");
        NodeProto made = edit.node("Relu", List.of("x"), List.of("r"), "layer/q", GraphBuilder.intAttr("k", 3));
        assertEquals("layer/q/stamp/Relu", made.getName());
        assertEquals("stamp-onnx maker-one for layer/q", made.getDocString());
        assertEquals(3, made.getAttribute(0).getI());
        assertEquals("", made.getDomain());
        NodeProto relabelled = edit.as("maker-two").node("Relu", List.of("x"), List.of("r2"), "layer/q");
        assertEquals("layer/q/stamp/Relu_1", relabelled.getName(), "fresh: the first one's name is taken");
        assertEquals("stamp-onnx maker-two for layer/q", relabelled.getDocString());
        NodeProto b = node(m.getGraph(), "b");
        NodeProto r = edit.nodeReplacing(b, "Tanh", List.of("a_out"), List.of("b_out"), "was Sigmoid");
        assertEquals("b", r.getName());
        assertEquals("stamp-onnx maker-one for b: was Sigmoid", r.getDocString());
        NodeProto unnamed = NodeProto.newBuilder().setOpType("Sigmoid").addInput("a_out").addOutput("s").build();
        NodeProto r2 = edit.as("dequantize-weights/qdq").nodeReplacing(unnamed, "Tanh", List.of("a_out"), List.of("s"), "note");
        assertEquals("Tanh_dequantize_weights_qdq", r2.getName(), "an unnamed original gets a fresh name");
        assertEquals("stamp-onnx dequantize-weights/qdq for Sigmoid(s): note", r2.getDocString());
        NodeProto call = edit.call(new HaarSequence(2, 1), List.of("x"), List.of("h"), "layer/q");
        assertEquals(StampDomain.NAME, call.getDomain());
        assertEquals("HaarSequence_l2_s1", call.getOpType());
        assertEquals("layer/q/stamp/HaarSequence", call.getName());
        assertEquals("stamp-onnx maker-one for layer/q: " + new HaarSequence(2, 1).describe(), call.getDocString());
        // making nodes edits nothing
        assertSame(m, e.commit());
    }

    // ---- nested bodies ----

    @Test
    void editsInAnIfBranchLandInThatBranchOnlyAndTheRestIsReused() {
        OnnxMl.ModelProto m = ifModel();
        ModelEditor e = new ModelEditor(m);
        Graph main = new Graph(m.getGraph());
        Graph then = branch(main, "if", 0);
        assertEquals("main/1:then_branch", then.scope());
        GraphEditor edit = e.graph(then, "t");
        NodeProto act = node(then.proto(), "then_act");
        edit.replace(act, List.of(edit.nodeReplacing(act, "Identity", List.of("then_mm"), List.of("then_y"), "was Relu")));
        String added = edit.addInitializer("W_outer", Tensors.floatTensor(new float[] {1}, 1));
        OnnxMl.ModelProto out = e.commit();

        NodeProto ifBefore = node(m.getGraph(), "if");
        NodeProto ifAfter = node(out.getGraph(), "if");
        assertEquals("""
                then_mm = MatMul(x, W_outer)
                then_y = Identity(then_mm)""", GraphDump.of(body(ifAfter, "then_branch")));
        assertEquals("W_outer_1[1]", inits(body(ifAfter, "then_branch")));
        assertEquals("W_outer_1", added);
        assertEquals("W_outer[4, 4]", inits(out.getGraph()), "the main graph's initializers are untouched");
        assertSame(body(ifBefore, "else_branch"), body(ifAfter, "else_branch"), "the unedited branch is the same proto");
        assertSame(m.getGraph().getNode(0), out.getGraph().getNode(0), "unedited main-graph nodes are reused");
        assertSame(m.getGraph().getNode(2), out.getGraph().getNode(2));
        assertSame(m.getGraph().getInitializer(0), out.getGraph().getInitializer(0));
        assertNotSame(ifBefore, ifAfter);
        assertSame(body(ifBefore, "then_branch").getNode(0), body(ifAfter, "then_branch").getNode(0), "and unedited body nodes too");
        assertEquals(GraphDump.of(m.getGraph()), GraphDump.of(out.getGraph()));

        // it still runs, and only the then branch changed: Relu(then(x)) = then_before(x), else is bit-identical
        Ort.Tensor x = Ort.random(5, 6, 4);
        for (boolean cond : new boolean[] {true, false}) {
            float[] before = Ort.run(m, Map.of("x", x, "cond", cond)).get("z");
            float[] after = Ort.run(out, Map.of("x", x, "cond", cond)).get("z");
            if (cond) for (int i = 0; i < after.length; i++) after[i] = Math.max(after[i], 0f);
            assertArrayEquals(before, after, "cond " + cond);
        }
    }

    @Test
    void aMainGraphEditLeavesIfNodesAsTheyAre() {
        OnnxMl.ModelProto m = ifModel();
        ModelEditor e = new ModelEditor(m);
        Graph main = new Graph(m.getGraph());
        GraphEditor edit = e.graph(main, "t");
        NodeProto post = node(m.getGraph(), "post");
        edit.replace(post, List.of(edit.nodeReplacing(post, "Neg", List.of("y"), List.of("z"), "was Identity")));
        OnnxMl.ModelProto out = e.commit();
        assertSame(m.getGraph().getNode(1), out.getGraph().getNode(1), "the If node (and its bodies) is the same proto");
        assertEquals("z = Neg(y)", GraphDump.node(out.getGraph().getNode(2)));
    }

    @Test
    void twoIfNodesHoldingTheSameBodyProtoAreEditedApart() {
        OnnxMl.GraphProto shared = body(node(TinyGraphs.linearInsideIf(17, 4, 3).getGraph(), "if"), "then_branch");
        GraphBuilder b = new GraphBuilder(1);
        b.input("x", "seq", 4);
        b.weight("W_outer", 1f, 4, 4);
        b.node("If", "if", List.of("c1"), List.of("y1"), GraphBuilder.graphAttr("then_branch", shared), GraphBuilder.graphAttr("else_branch", shared));
        b.node("If", "if", List.of("c2"), List.of("y2"), GraphBuilder.graphAttr("then_branch", shared), GraphBuilder.graphAttr("else_branch", shared));
        OnnxMl.ModelProto m = b.model(17, 8);
        ModelEditor e = new ModelEditor(m);
        Graph main = new Graph(m.getGraph());
        Graph target = main.subgraphs(main.nodes().get(1)).get(1); // second If, else branch
        assertEquals("main/1:else_branch", target.scope());
        GraphEditor edit = e.graph(target, "t");
        edit.remove(target.nodes().get(1));
        OnnxMl.ModelProto out = e.commit();
        for (int i = 0; i < 2; i++) {
            for (String attr : List.of("then_branch", "else_branch")) {
                OnnxMl.GraphProto got = body(out.getGraph().getNode(i), attr);
                if (i == 1 && attr.equals("else_branch")) assertEquals("then_mm = MatMul(x, W_outer)", GraphDump.of(got));
                else assertSame(shared, got, i + " " + attr);
            }
        }
    }

    @Test
    void aGraphOfAnotherModelOrOfAnEarlierCommitIsRefused() {
        OnnxMl.ModelProto m = chain();
        ModelEditor e = new ModelEditor(m);
        Graph stale = new Graph(m.getGraph());
        GraphEditor edit = e.graph(stale, "t");
        edit.remove(node(m.getGraph(), "a"));
        e.commit();
        // the model changed: a view of the old proto would edit nodes that are not there any more
        assertThrows(IllegalStateException.class, () -> e.graph(stale, "t"));
        assertThrows(IllegalStateException.class, () -> e.graph(new Graph(chain().getGraph().toBuilder().setName("other").build()), "t"));
        Graph main = new Graph(e.current().getGraph());
        e.graph(main, "t");
        OnnxMl.ModelProto nested = ifModel();
        ModelEditor e2 = new ModelEditor(nested);
        Graph otherThen = branch(new Graph(ifModel().getGraph().toBuilder().setName("copy").build()), "if", 0);
        assertThrows(IllegalStateException.class, () -> e2.graph(otherThen, "t"), "a body of another model");
        e2.graph(branch(new Graph(nested.getGraph()), "if", 0), "t");
    }

    @Test
    void withoutEditsCommitReturnsTheSameModel() {
        OnnxMl.ModelProto m = ifModel();
        ModelEditor e = new ModelEditor(m);
        Graph main = new Graph(m.getGraph());
        e.graph(main, "t");
        e.graph(branch(main, "if", 1), "t");
        assertSame(m, e.commit());
        assertSame(m, e.current());
    }

    // ---- build() ----

    @Test
    void theIrVersionIsOnlyRaised() {
        ModelEditor e = new ModelEditor(chain().toBuilder().setIrVersion(9).build());
        e.requireIrVersion(8);
        assertEquals(9, e.build().getIrVersion());
        e.requireIrVersion(10);
        e.requireIrVersion(7);
        assertEquals(10, e.build().getIrVersion());
        assertEquals(9, e.current().getIrVersion(), "build() does not change the committed model");
    }

    @Test
    void opsetImportsAreAddedForNewDomainsOnly() {
        OnnxMl.ModelProto m = chain().toBuilder()
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1)).build();
        ModelEditor e = new ModelEditor(m);
        IllegalStateException ex = assertThrows(IllegalStateException.class, () -> e.importOpset("", 18));
        assertEquals("the model already imports domain ''", ex.getMessage());
        assertThrows(IllegalStateException.class, () -> e.importOpset("com.microsoft", 2));
        e.importOpset(StampDomain.NAME, StampDomain.VERSION);
        assertThrows(IllegalStateException.class, () -> e.importOpset(StampDomain.NAME, StampDomain.VERSION), "imported once");
        assertEquals(List.of(":17", "com.microsoft:1", "ai.stamp:1"),
                e.build().getOpsetImportList().stream().map(o -> o.getDomain() + ":" + o.getVersion()).toList());
    }

    @Test
    void metadataReplacesExistingKeysInPlaceAndAppendsNewOnesInOrder() {
        OnnxMl.ModelProto m = chain().toBuilder()
                .addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey("a").setValue("1"))
                .addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey("b").setValue("2"))
                .addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey("c").setValue("3")).build();
        ModelEditor e = new ModelEditor(m);
        e.putMetadata("z", "new1");
        e.putMetadata("b", "two");
        e.putMetadata("y", "new2");
        e.putMetadata("z", "new3");
        assertEquals(List.of("a=1", "b=two", "c=3", "z=new3", "y=new2"),
                e.build().getMetadataPropsList().stream().map(p -> p.getKey() + "=" + p.getValue()).toList());
    }

    @Test
    void functionsOfCallsAppearOnceAfterTheModelsOwnOnes() {
        OnnxMl.FunctionProto own = OnnxMl.FunctionProto.newBuilder().setDomain("local").setName("Own").addInput("i").addOutput("o")
                .addNode(NodeProto.newBuilder().setOpType("Identity").addInput("i").addOutput("o")).build();
        OnnxMl.ModelProto m = chain().toBuilder().addFunctions(own).build();
        ModelEditor e = new ModelEditor(m);
        GraphEditor edit = e.graph(new Graph(m.getGraph()), "t");
        NodeProto b = node(m.getGraph(), "b");
        NodeProto c = node(m.getGraph(), "c");
        edit.replace(b, List.of(edit.call(new HaarSequence(3, 1), List.of("a_out"), List.of("h"), "b"),
                edit.call(MixedPrecisionQdq.INSTANCE, List.of("h"), List.of("b_out"), "b")));
        edit.replace(c, List.of(edit.call(new HaarSequence(3, 1), List.of("b_out"), List.of("y"), "c")));
        OnnxMl.ModelProto out = e.build();
        assertEquals(List.of("local.Own", "ai.stamp.HaarSequence_l3_s1", "ai.stamp.MixedPrecisionQdq"),
                out.getFunctionsList().stream().map(f -> f.getDomain() + "." + f.getName()).toList());
        assertEquals(Map.of("HaarSequence_l3_s1", 2, "MixedPrecisionQdq", 1), e.functions().uses());
        assertEquals(out.getFunctionsList(), e.build().getFunctionsList(), "building again adds nothing");
        assertEquals("""
                a_out = Relu(x)
                h = ai.stamp.HaarSequence_l3_s1(a_out)
                b_out = ai.stamp.MixedPrecisionQdq(h)
                y = ai.stamp.HaarSequence_l3_s1(b_out)""", GraphDump.of(out.getGraph()));
    }

    @Test
    void theInputModelIsNeverModified() throws Exception {
        OnnxMl.ModelProto m = ifModel().toBuilder()
                .addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey("a").setValue("1")).build();
        byte[] bytes = m.toByteArray();
        ModelEditor e = new ModelEditor(m);
        Graph main = new Graph(m.getGraph());
        GraphEditor edit = e.graph(main, "t");
        edit.remove(node(m.getGraph(), "post"));
        edit.removeInitializer("W_outer");
        edit.addInitializer("k", Tensors.floatTensor(new float[] {1}, 1));
        GraphEditor then = e.graph(branch(main, "if", 0), "t");
        NodeProto act = branch(main, "if", 0).nodes().get(1);
        then.replace(act, List.of(then.call(MixedPrecisionQdq.INSTANCE, List.of("then_mm"), List.of("then_y"), "then")));
        e.commit();
        e.requireIrVersion(10);
        e.importOpset(StampDomain.NAME, 1);
        e.putMetadata("a", "2");
        OnnxMl.ModelProto out = e.build();
        assertArrayEquals(bytes, m.toByteArray());
        assertEquals(OnnxMl.ModelProto.parseFrom(bytes), m);
        assertNotEquals(m, out);
        List<String> names = new ArrayList<>();
        out.getGraph().getNodeList().forEach(n -> names.add(n.getName()));
        assertEquals(List.of("pre", "if"), names);
    }
}
