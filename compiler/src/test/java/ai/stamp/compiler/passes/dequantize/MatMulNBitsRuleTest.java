package ai.stamp.compiler.passes.dequantize;

import static ai.stamp.compiler.passes.dequantize.Variants.ALL;
import static ai.stamp.compiler.passes.dequantize.Variants.inits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.quant.Dequantization;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.PassManager;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.QuantizedGraphs;
import ai.stamp.testmodels.QuantizedGraphs.NBitsZeroPoints;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * com.microsoft MatMulNBits back to MatMul(A, W) (+ Add(bias)): W computed in Java, checked against what ONNX Runtime
 * computes with the original node (accuracy_level 0: A stays float).
 */
class MatMulNBitsRuleTest {
    private static OnnxMl.ModelProto run(OnnxMl.ModelProto m) {
        return new PassManager(new ModelEditor(m)).run(new DequantizeWeightsPass(ALL));
    }

    private static float[] y(OnnxMl.ModelProto m, Ort.Tensor x) { return Ort.run(m, Map.of("x", x)).get("y"); }

    private static String verdict(OnnxMl.ModelProto m) {
        Graph g = new Graph(m.getGraph());
        NodeProto node = g.nodes().stream().filter(n -> n.getOpType().equals("MatMulNBits")).findFirst().orElseThrow();
        return Variants.verdict(new MatMulNBitsRule(ALL).match(g, node));
    }

    /** (K, N, block size, bits). */
    private record Shape(int k, int n, int blockSize, int bits) {}

    @Test
    void theJavaWeightGivesOrtsMatMulNBitsOutput() {
        List<Shape> shapes = List.of(new Shape(64, 24, 16, 4), new Shape(40, 24, 16, 4), new Shape(96, 20, 32, 4), new Shape(72, 20, 32, 4),
                new Shape(256, 16, 128, 4), new Shape(200, 16, 128, 4), new Shape(64, 24, 32, 8), new Shape(50, 24, 16, 8));
        List<String> failures = new ArrayList<>();
        int cases = 0;
        long seed = 1;
        for (Shape s : shapes) {
            for (NBitsZeroPoints zp : NBitsZeroPoints.values()) {
                // ORT 1.24 runs 8-bit MatMulNBits with float zero points on no CPU path: the rule refuses that form
                if (s.bits() == 8 && zp == NBitsZeroPoints.FLOAT) continue;
                for (boolean half : new boolean[] {false, true}) {
                    for (boolean bias : new boolean[] {false, true}) {
                        OnnxMl.ModelProto m = QuantizedGraphs.matMulNBits(s.k(), s.n(), s.blockSize(), s.bits(), zp, half, bias, seed++);
                        OnnxMl.ModelProto after = run(m);
                        String what = s + " zp " + zp + (half ? " float16" : " float") + (bias ? " bias" : "");
                        String ops = after.getGraph().getNodeList().stream().map(NodeProto::getOpType).reduce((a, b) -> a + " " + b).orElse("");
                        String expectedOps = (half ? "Cast " : "") + "MatMul" + (bias ? " Add" : "") + (half ? " Cast" : "");
                        if (!ops.equals(expectedOps)) {
                            failures.add(what + ": " + ops);
                            continue;
                        }
                        Ort.Tensor x = Ort.random(seed, 2, 3, s.k());
                        float[] ref;
                        try { ref = y(m, x); } catch (AssertionError e) { failures.add(what + ": ORT " + e.getMessage().substring(0, Math.min(300, e.getMessage().length()))); continue; }
                        double err = Ort.maxRelativeError(ref, y(after, x));
                        // float16: both round the [.., N] output (and ORT the dequantized weight or the products) to half
                        if (err > (half ? 2e-3 : 1e-5)) failures.add(what + ": max relative error " + err);
                        cases++;
                    }
                }
            }
        }
        assertEquals(List.of(), failures);
        assertEquals(6 * 12 + 2 * 8, cases);
    }

    @Test
    void theLayoutIsColumnMajorBlocksLowNibbleFirst() {
        // K = 20, N = 2, block 16: two blocks per column, the second padded; B [2, 2, 8]
        int[] b = new int[32];
        b[0] = 0x21;             // column 0, block 0: k 0 -> 1, k 1 -> 2
        b[8] = 0x0f;             // column 0, block 1: k 16 -> 15
        b[16 + 1] = 0x30;        // column 1, block 0: k 2 -> 0, k 3 -> 3
        float[] scales = {1f, 2f, 0.5f, 4f};
        int[] zp = {0x98, 0x07}; // column 0: blocks 8, 9; column 1: blocks 7, 0
        float[] w = Dequantization.matMulNBits(b, 20, 2, 4, 16, scales, zp, null);
        assertEquals((1 - 8) * 1f, w[0]);
        assertEquals((2 - 8) * 1f, w[2]);
        assertEquals((15 - 9) * 2f, w[16 * 2]);
        assertEquals((0 - 9) * 2f, w[19 * 2], "the last row of column 0 (nibble 0)");
        assertEquals((0 - 7) * 0.5f, w[2 * 2 + 1]);
        assertEquals((3 - 7) * 0.5f, w[3 * 2 + 1]);
        assertEquals((0 - 0) * 4f, w[17 * 2 + 1]);
        float[] noZp = Dequantization.matMulNBits(b, 20, 2, 4, 16, scales, null, null);
        assertEquals((1 - 8) * 1f, noZp[0], "default zero point 8");
        float[] floatZp = Dequantization.matMulNBits(b, 20, 2, 4, 16, scales, null, new float[] {0.5f, 0, 0, 0});
        assertEquals((1 - 0.5f) * 1f, floatZp[0]);
        int[] b8 = new int[64];
        b8[0] = 200;
        assertEquals((200 - 128) * 1f, Dequantization.matMulNBits(b8, 20, 2, 8, 16, scales, null, null)[0], "8 bits: default zero point 128");
    }

    @Test
    void thePassDumpBeforeAndAfter() {
        OnnxMl.ModelProto m = QuantizedGraphs.nbitsDecoder(17);
        assertEquals("""
                h = com.microsoft.MatMulNBits(x, fc1_B, fc1_scales, fc1_zp)
                hr = Relu(h)
                y = com.microsoft.MatMulNBits(hr, fc2_B, fc2_scales, , , fc2_bias)""", GraphDump.of(m.getGraph()));
        OnnxMl.ModelProto after = run(m);
        assertEquals("""
                h = MatMul(x, fc1_B_dequantized)
                hr = Relu(h)
                y_matmul = MatMul(hr, fc2_B_dequantized)
                y = Add(y_matmul, fc2_bias)""", GraphDump.of(after.getGraph()));
        assertEquals("fc2_bias:FLOAT[64] fc1_B_dequantized:FLOAT[64, 80] fc2_B_dequantized:FLOAT[80, 64]", inits(after.getGraph()),
                "B, scales and zero points go");
        assertEquals(List.of("fc1", "relu", "fc2"), after.getGraph().getNodeList().stream().map(NodeProto::getName).limit(3).toList());
        assertEquals("stamp-onnx dequantize-weights/nbits for fc2: was MatMulNBits 'fc2' (4-bit, block 32)", after.getGraph().getNode(2).getDocString());
        assertEquals("stamp-onnx dequantize-weights/nbits for fc2", after.getGraph().getNode(3).getDocString());
        Ort.Tensor x = Ort.random(4, 2, 7, 64);
        double err = Ort.maxRelativeError(y(m, x), y(after, x));
        assertTrue(err < 1e-5, "max relative error " + err);
        assertEquals(2, new DequantizeWeightsPass(ALL).plan(m).weights());
        assertEquals(1, new DequantizeWeightsPass(Variants.excluding("fc1")).plan(m).weights());
    }

    @Test
    void formsThatCannotBeVerifiedAreNotApplicable() {
        OnnxMl.ModelProto m = QuantizedGraphs.matMulNBits(64, 16, 32, 4, NBitsZeroPoints.PACKED, false, false, 3);
        assertEquals("planned", verdict(m));
        assertEquals("n/a", verdict(Variants.node(m, "nbits", b -> b.addInput("g_idx"))), "g_idx");
        assertEquals("n/a", verdict(Variants.node(m, "nbits", b -> b.setAttribute(2, GraphBuilder.intAttr("bits", 2)))), "2 bits");
        assertEquals("n/a", verdict(Variants.node(m, "nbits", b -> b.setAttribute(3, GraphBuilder.intAttr("block_size", 24)))), "block 24");
        assertEquals("n/a", verdict(Variants.node(m, "nbits", b -> b.setAttribute(0, GraphBuilder.intAttr("K", 65)))), "K disagreeing with B");
        assertEquals("n/a", verdict(Variants.node(m, "nbits", b -> b.setDomain(""))), "not com.microsoft");
        assertEquals("n/a", verdict(Variants.asInput(m, "nbits_B")), "run-time B");
        assertEquals("n/a", verdict(Variants.asInput(m, "nbits_scales")), "run-time scales");
        assertEquals("n/a", verdict(Variants.asInput(m, "nbits_zp")), "run-time zero points");
        assertEquals("n/a", new MatMulNBitsRule(Variants.excluding("nbits")).match(new Graph(m.getGraph()), m.getGraph().getNode(0)) instanceof ai.stamp.compiler.rewrite.Match.NotApplicable<?> ? "n/a" : "?");
        assertEquals("n/a", verdict(QuantizedGraphs.matMulNBits(64, 16, 32, 8, NBitsZeroPoints.FLOAT, false, false, 3)),
                "8 bits with float zero points: ORT does not run it, so it cannot be verified");
        assertEquals("planned", verdict(QuantizedGraphs.matMulNBits(64, 16, 32, 8, NBitsZeroPoints.PACKED, false, false, 3)));
        TensorProto wrongZp = Variants.bytes(TensorProto.DataType.UINT8_VALUE, new byte[32], 32);
        assertEquals("n/a", verdict(Variants.initializer(m, "nbits_zp", wrongZp)), "zero points for one block per column");
    }

    @Test
    void unsupportedFormsAreReportedAsAlreadyQuantizedWithTheNewReason() {
        OnnxMl.ModelProto m = QuantizedGraphs.matMulNBits(64, 16, 32, 4, NBitsZeroPoints.PACKED, false, false, 3);
        StampResult without = StampCompiler.compile(m, StampConfig.defaults());
        StampReport.Skipped s = without.report().skipped().get(0);
        assertEquals("MatMulNBits", s.opType());
        assertEquals("already-quantized", s.code());
        assertTrue(s.reason().endsWith("use --dequantize-weights to turn MatMulNBits back into a float MatMul and rewrite it"), s.reason());
        OnnxMl.ModelProto gIdx = Variants.addOutput(Variants.node(m, "nbits", b -> b.addInput("g_idx")), "y");
        OnnxMl.ModelProto withGIdx = gIdx.toBuilder().setGraph(gIdx.getGraph().toBuilder()
                .addInitializer(ai.stamp.compiler.ir.Tensors.int32Tensor(new int[64], 64).toBuilder().setName("g_idx"))).build();
        StampResult with = StampCompiler.compile(withGIdx, StampConfig.builder().dequantizeWeights(true).build());
        StampReport.Skipped g = with.report().skipped().get(0);
        assertEquals("MatMulNBits", g.opType());
        assertTrue(g.reason().contains("no g_idx; this one is not of that form (not supported)"), g.reason());
        assertTrue(!g.reason().contains("even with --dequantize-weights"), g.reason());
    }

    @Test
    void aDecoderOfMatMulNBitsLayersIsRewrittenEndToEnd() {
        OnnxMl.ModelProto m = QuantizedGraphs.nbitsDecoder(17);
        StampResult r = StampCompiler.compile(m, StampConfig.builder().dequantizeWeights(true).build());
        assertEquals(List.of("fc1", "fc2"), r.report().rewritten().stream().map(StampReport.Layer::name).toList(), r.report().toJson());
        assertEquals(0, r.report().skipped().size(), r.report().toJson());
        assertTrue(r.model().getGraph().getNodeList().stream().noneMatch(n -> n.getOpType().equals("MatMulNBits")));
        Ort.Tensor x = Ort.random(12, 2, 16, 64);
        double sqnr = Ort.sqnrDb(y(m, x), y(r.model(), x));
        assertTrue(sqnr > 20, "SQNR " + sqnr);
    }
}
