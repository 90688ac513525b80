package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampConfig.Emit;
import ai.stamp.compiler.StampConfig.Mode;
import ai.stamp.compiler.StampConfig.WeightQuant;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.calibration.Calibrator;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.compiler.ir.ConstantValues;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.GraphOutputs;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.passes.linear.LayerMatches;
import ai.stamp.compiler.passes.linear.LinearLayer;
import ai.stamp.ops.MixedPrecisionQdq;
import ai.stamp.ops.MixedPrecisionQuantize;
import ai.stamp.ops.ScaledMatMulInteger;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.RealModels;
import ai.stamp.testmodels.TinyGraphs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue: the integer form of a config (docs/method.md#integer-form: MixedPrecisionQuantize, then ScaledMatMulInteger =
 * MatMulInteger u8 x s8 + int32 zero-point correction + scales, then L^T, then the bias) must equal its simulation form
 * (MixedPrecisionQdq, then a float MatMul on the dequantized weight) to float rounding: max|Δ| / max|y| ≤ 1e-5 per
 * layer output.
 *
 * <p>Per layer, because in a whole model the two forms diverge downstream: on all-MiniLM-L6-v2 (stamp + rtn8, one
 * window of 128 tokens) they agree to ~3e-7 up to layer 3, where one token's 4-bit rounding flips, and the difference
 * grows to ~10% of max|y| at the output (and so does the difference between two simulations that only order the float
 * ops differently, e.g. --inverse-at input vs output, or ORT optimization levels). So the original model runs once in
 * ONNX Runtime with every linear layer's input and output exposed; the layers reading one activation (one layer, or Q,
 * K and V, which share their quantized input) become a model of just those layers (their real weights, the MatMul/Gemm,
 * the bias Add that follows), compiled in both forms and fed that activation's real value. Graphs with a single
 * quantized layer per run are compared whole.
 */
class IntegerFormExactnessTest {
    private static final double TOLERANCE = 1e-5;
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    /** Worst relative error per model and config, printed at the end. */
    private static final Map<String, String> WORST = new TreeMap<>();

    @TempDir Path dir;

    // ---------------------------------------------------------------------------------------------------- configs

    private static StampConfig.Builder rtn8() { return StampConfig.builder().weights(WeightQuant.RTN8); }

    /** The configs of the issue, by label. */
    private static Map<String, StampConfig> configs() {
        Map<String, StampConfig> c = new LinkedHashMap<>();
        c.put("stamp rtn8", rtn8().build());
        c.put("baseline rtn8", rtn8().mode(Mode.BASELINE).build());
        c.put("stamp rtn4", StampConfig.builder().weights(WeightQuant.RTN4).build());
        c.put("stamp hadamard rtn8", rtn8().rotation(StampConfig.Rotation.HADAMARD).build());
        c.put("W8A8 (baseline lo-bits 8) rtn8", rtn8().mode(Mode.BASELINE).loBits(8).build());
        return c;
    }

    // ------------------------------------------------------------------------------------------------ real models

    @Test
    void miniLmEveryLinearLayerIntegerEqualsSimulation() throws Exception {
        OnnxMl.ModelProto model = ModelFile.read(RealModels.miniLm()).proto();
        Map<String, Object> feeds = new LinkedHashMap<>();
        try (TokenWindows tw = TokenWindows.load(RealModels.miniLmTokenizer())) {
            ModelInputs.fromWindows(model, tw.windows(DefaultText.get(), 128, 1)).get(0).inputs().forEach(feeds::put);
        }
        List<LayerCase> layers = layerCases(model, feeds);
        assertEquals(36, layerCount(layers), "all-MiniLM-L6-v2 has 6 x (Q, K, V, O, FC1, FC2) linear layers");
        assertEquals(24, layers.size(), "Q, K and V read one input");
        assertEquals(128, layers.get(0).shape()[layers.get(0).shape().length - 2], "one window of 128 tokens");
        for (Map.Entry<String, StampConfig> c : configs().entrySet()) checkEveryLayer("MiniLM", layers, c.getKey(), c.getValue());
    }

    @Test
    void ppOcrV4EveryLinearLayerIntegerEqualsSimulation() throws Exception {
        OnnxMl.ModelProto model = ModelFile.read(RealModels.ppOcrV4Rec()).proto();
        Map<String, Object> feeds = new LinkedHashMap<>();
        ModelInputs.random(model, Map.of(), 1, ModelInputs.DEFAULT_SEED).get(0).inputs().forEach(feeds::put);
        assertEquals(List.of(1L, 3L, 48L, 320L), toList(((ModelInputs.Input) feeds.values().iterator().next()).shape()));
        List<LayerCase> layers = layerCases(model, feeds);
        assertEquals(9, layerCount(layers), "PP-OCRv4 rec linear layers");
        for (Map.Entry<String, StampConfig> c : configs().entrySet()) checkEveryLayer("PP-OCRv4", layers, c.getKey(), c.getValue());
    }

    // ------------------------------------------------------------------------------------------------- tiny graphs

    @ParameterizedTest(name = "opset {0}")
    @ValueSource(ints = {11, 13, 21})
    void tinyEncoderBlockEveryLayerIntegerEqualsSimulation(int opset) throws Exception {
        OnnxMl.ModelProto model = TinyGraphs.encoderBlock(opset, 16, 5);
        List<LayerCase> layers = layerCases(model, Map.of("x", gaussian(opset, 2, 37, 16)));
        assertEquals(List.of("q", "k", "v", "o", "fc1", "fc2"), layerNames(layers));
        assertEquals(4, layers.size(), "q, k and v read x");
        for (Map.Entry<String, StampConfig> c : configs().entrySet()) {
            checkEveryLayer("encoderBlock opset " + opset, layers, c.getKey(), c.getValue());
        }
        // GPTQ: the Gram matrices from one calibration run of the whole model, keyed by the layer inputs the one-layer models keep
        for (WeightQuant gptq : new WeightQuant[] {WeightQuant.GPTQ8, WeightQuant.GPTQ4}) {
            StampConfig config = StampConfig.builder().weights(gptq).build();
            CalibrationStats stats = Calibrator.collect(model, null, StampCompiler.prepare(model, config, ExternalWeights.NONE).calibrationTensors(),
                    List.of(tensors(Map.of("x", gaussian(opset + 100, 2, 37, 16)))), Calibrator.Options.of(config), null);
            checkEveryLayer("encoderBlock opset " + opset, layers, "stamp " + gptq.name().toLowerCase(Locale.ROOT), config, stats);
        }
    }

    /** A Gemm with transB = 1, alpha and beta: the only quantized layer, so the two forms are compared whole. */
    @ParameterizedTest(name = "opset {0}")
    @ValueSource(ints = {11, 13})
    void gemmWithTransBAlphaBetaIntegerEqualsSimulation(int opset) {
        GraphBuilder g = new GraphBuilder(17);
        g.input("x", "seq", 24);
        g.node("Gemm", "fc", List.of("x", g.weight("W", 0.4f, 20, 24), g.weight("C", 0.5f, 20)), List.of("y"),
                GraphBuilder.intAttr("transB", 1), GraphBuilder.floatAttr("alpha", 0.75f), GraphBuilder.floatAttr("beta", 1.5f));
        g.output("y", "seq", 20);
        OnnxMl.ModelProto model = g.model(opset, 7);
        Map<String, Object> in = Map.of("x", gaussian(3, 45, 24));
        for (Map.Entry<String, StampConfig> c : configs().entrySet()) {
            Forms f = Forms.compile(model, c.getValue(), 1);
            f.assertIntegerStructure(List.of(new Layer("fc", "y", null, "W", 24, 20)), c.getValue().weights().bits());
            double rel = relative(run(f.simulate.model(), in).get("y"), run(f.integer.model(), in).get("y"));
            record("Gemm transB/alpha/beta opset " + opset, c.getKey(), "fc", rel);
            assertTrue(rel <= TOLERANCE, c.getKey() + ": Gemm integer vs simulation max|Δ|/max|y| = " + rel);
            assertQuantizationIsReal(run(model, in).get("y"), run(f.integer.model(), in).get("y"), c.getKey() + " Gemm");
        }
    }

    /** The layer inside both branches of an If, weight from the outer scope: each run executes one quantized layer. */
    @Test
    void layerInsideIfBranchIntegerEqualsSimulation() {
        OnnxMl.ModelProto model = TinyGraphs.linearInsideIf(13, 16, 9);
        for (Map.Entry<String, StampConfig> c : configs().entrySet()) {
            Forms f = Forms.compile(model, c.getValue(), 2);
            for (StampResult r : List.of(f.integer, f.simulate)) {
                for (OnnxMl.NodeProto n : r.model().getGraph().getNodeList()) {
                    if (!n.getOpType().equals("If")) continue;
                    for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                        Set<String> ops = opTypes(a.getG().getNodeList());
                        boolean integer = r == f.integer;
                        assertEquals(integer, ops.contains(ScaledMatMulInteger.OP), a.getName() + " of " + c.getKey() + ": " + ops);
                        assertEquals(!integer, ops.contains(MixedPrecisionQdq.OP), a.getName() + " of " + c.getKey() + ": " + ops);
                        long matMuls = a.getG().getNodeList().stream().filter(x -> x.getOpType().equals("MatMul")).count();
                        // the integer branch's only float MatMul is X·R when rotated; the simulation keeps the layer's
                        assertEquals((integer ? 0 : 1) + (f.rotated() ? 1 : 0), matMuls, a.getName() + " of " + c.getKey() + ": " + ops);
                    }
                }
            }
            // the outer float weight is read by no node any more (the compiler keeps outer-scope initializers, see the report)
            assertTrue(readers(f.integer.model().getGraph(), "W_outer").isEmpty(), "W_outer still read in the integer model");
            for (boolean cond : new boolean[] {true, false}) {
                Map<String, Object> in = Map.of("x", gaussian(cond ? 1 : 2, 29, 16), "cond", cond);
                double rel = relative(run(f.simulate.model(), in).get("y"), run(f.integer.model(), in).get("y"));
                record("If branches opset 13", c.getKey(), cond ? "then_linear" : "else_linear", rel);
                assertTrue(rel <= TOLERANCE, c.getKey() + " cond=" + cond + ": integer vs simulation max|Δ|/max|y| = " + rel);
                assertQuantizationIsReal(run(model, in).get("y"), run(f.integer.model(), in).get("y"), c.getKey() + " If " + cond);
            }
        }
    }

    // -------------------------------------------------------------------------------- the integer model's content

    /**
     * After ONNX Runtime inlines the functions, the integer model's weight reaches the output only through
     * MatMulInteger (no float MatMul reads it), and the weight is an INT8 initializer with no float copy left.
     */
    @Test
    void integerModelHoldsMatMulIntegerAfterInliningAndOnlyInt8Weights() throws Exception {
        OnnxMl.ModelProto model = TinyGraphs.encoderBlock(13, 16, 5);
        LayerCase fc1Case = layerCases(model, Map.of("x", gaussian(1, 2, 37, 16))).get(2);
        Layer fc1 = only(fc1Case.layers(), "layers reading fc1's input");
        assertEquals("fc1", fc1.name());
        for (StampConfig config : List.of(rtn8().build(), rtn8().rotation(StampConfig.Rotation.HADAMARD).build(),
                StampConfig.builder().weights(WeightQuant.RTN4).build())) {
            Forms f = Forms.compile(fc1Case.model(), config, 1);
            f.assertIntegerStructure(fc1Case.layers(), config.weights().bits());
            OnnxMl.GraphProto integer = ortInlined(f.integer.model(), dir.resolve("integer.onnx")).getGraph();
            OnnxMl.GraphProto simulate = ortInlined(f.simulate.model(), dir.resolve("simulate.onnx")).getGraph();
            Set<String> intOps = opTypes(integer.getNodeList()), simOps = opTypes(simulate.getNodeList());
            assertTrue(intOps.stream().anyMatch(INTEGER_GEMMS::contains), "ORT-inlined integer model: " + intOps);
            assertTrue(simOps.stream().noneMatch(INTEGER_GEMMS::contains), "ORT-inlined simulation: " + simOps);
            assertTrue(integer.getNodeList().stream().noneMatch(n -> n.getDomain().startsWith("ai.stamp")), "everything inlined: " + intOps);

            OnnxMl.TensorProto wq = only(integer.getInitializerList().stream()
                    .filter(t -> t.getDimsList().equals(List.of((long) fc1.d(), (long) fc1.n()))).toList(), "the [D, N] weight");
            assertEquals(OnnxMl.TensorProto.DataType.INT8_VALUE, wq.getDataType());
            List<String> readersOfWq = consumers(integer, wq.getName()).stream().map(OnnxMl.NodeProto::getOpType).toList();
            assertEquals(1, readersOfWq.size(), "the INT8 weight has one reader: " + readersOfWq);
            assertTrue(INTEGER_GEMMS.contains(readersOfWq.get(0)), "the INT8 weight is read by an integer GEMM only: " + readersOfWq);
            // no float MatMul reads the weight in the integer model; in the simulation exactly the layer's one does
            assertEquals(0, matMulsReadingConstant(integer, wq.getName()), "float MatMul on the weight in the integer model");
            OnnxMl.TensorProto simW = only(simulate.getInitializerList().stream()
                    .filter(t -> t.getDimsList().equals(List.of((long) fc1.d(), (long) fc1.n()))).toList(), "the simulation's weight");
            assertEquals(1, matMulsReadingConstant(simulate, simW.getName()), "the simulation's MatMul on the dequantized weight");
            // the u8 activation operand comes from the input, through the quantizer
            OnnxMl.NodeProto mmi = consumers(integer, wq.getName()).get(0);
            assertTrue(ancestors(integer, mmi.getInput(0)).contains(fc1Case.input()), "MatMulInteger's A operand derives from the layer input");
        }
    }

    // -------------------------------------------------------------------------------- transform-only; bad options

    @Test
    void transformOnlyStaysExactInEverySimulateForm() {
        OnnxMl.ModelProto model = TinyGraphs.encoderBlock(13, 16, 5);
        Map<String, Object> in = Map.of("x", gaussian(4, 2, 37, 16));
        Map<String, float[]> original = run(model, in);
        for (Emit emit : new Emit[] {Emit.SIMULATE, Emit.AUTO}) {
            StampResult r = StampCompiler.compile(model, StampConfig.builder().mode(Mode.TRANSFORM_ONLY).emit(emit).build());
            assertEquals(6, r.report().rewritten().size());
            Set<String> ops = opTypes(r.model().getGraph().getNodeList());
            assertFalse(ops.contains(ScaledMatMulInteger.OP) || ops.contains(MixedPrecisionQuantize.OP) || ops.contains(MixedPrecisionQdq.OP),
                    "transform-only quantizes nothing: " + ops);
            Map<String, float[]> out = run(r.model(), in);
            for (String y : List.of("hidden", "pooled")) {
                double rel = relative(original.get(y), out.get(y));
                record("encoderBlock opset 13 transform-only", "emit " + emit.name().toLowerCase(Locale.ROOT), y, rel);
                assertTrue(rel <= TOLERANCE, "transform-only, emit " + emit + ", " + y + ": max|Δ|/max|y| = " + rel);
            }
        }
        // AUTO keeps the simulation where nothing is quantized per token, even with quantized weights
        StampResult auto = StampCompiler.compile(model, rtn8().mode(Mode.TRANSFORM_ONLY).build());
        assertFalse(opTypes(auto.model().getGraph().getNodeList()).contains(ScaledMatMulInteger.OP));
        // and with float weights there is nothing to multiply in integers
        StampResult floatWeights = StampCompiler.compile(model, StampConfig.builder().weights(StampConfig.WeightQuant.NONE).build());
        assertFalse(opTypes(floatWeights.model().getGraph().getNodeList()).contains(ScaledMatMulInteger.OP));
        // AUTO with per-channel quantized weights is the integer form
        StampResult integer = StampCompiler.compile(model, rtn8().build());
        assertTrue(opTypes(integer.model().getGraph().getNodeList()).contains(ScaledMatMulInteger.OP));
    }

    @Test
    void emitIntegerWithoutQuantizationIsABadOption() throws Exception {
        IllegalArgumentException noWeights = assertThrows(IllegalArgumentException.class,
                () -> StampConfig.builder().weights(StampConfig.WeightQuant.NONE).emit(Emit.INTEGER).build());
        assertTrue(noWeights.getMessage().contains("--emit integer needs quantized weights"), noWeights.getMessage());
        IllegalArgumentException transformOnly = assertThrows(IllegalArgumentException.class,
                () -> rtn8().mode(Mode.TRANSFORM_ONLY).emit(Emit.INTEGER).build());
        assertTrue(transformOnly.getMessage().contains("--mode transform-only"), transformOnly.getMessage());

        Path in = dir.resolve("tiny.onnx");
        Files.write(in, TinyGraphs.encoderBlock(13, 8, 1).toByteArray());
        String out = dir.resolve("out.onnx").toString();
        int bad = ai.stamp.compiler.StampException.Kind.BAD_OPTION.exitCode();
        CliTest.cli(in.toString(), out, "--emit", "integer", "--weight-block", "4").failsWith(bad, "drop --weight-block, or use --emit simulate");
        CliTest.cli(in.toString(), out, "--emit", "integer", "--weights", "none").failsWith(bad, "--emit integer needs quantized weights");
        CliTest.cli(in.toString(), out, "--emit", "integer", "--weights", "rtn8", "--mode", "transform-only")
                .failsWith(bad, "--mode transform-only does not: use --emit simulate");
        CliTest.cli(in.toString(), out, "--emit", "integr", "--weights", "rtn8").failsWith(bad, "--emit");
        assertFalse(Files.exists(Path.of(out)), "nothing written on a bad option");
        // the same options with quantized weights and activations are fine; --emit simulate keeps the float product
        CliTest.Run ok = CliTest.cli(in.toString(), out, "--emit", "integer", "--weights", "rtn8");
        assertEquals(0, ok.code(), ok.err());
        assertTrue(opTypes(OnnxMl.ModelProto.parseFrom(Files.readAllBytes(Path.of(out))).getGraph().getNodeList()).contains(ScaledMatMulInteger.OP));
        String simulated = dir.resolve("simulated.onnx").toString();
        CliTest.Run sim = CliTest.cli(in.toString(), simulated, "--emit", "simulate", "--weights", "rtn8");
        assertEquals(0, sim.code(), sim.err());
        Set<String> simOps = opTypes(OnnxMl.ModelProto.parseFrom(Files.readAllBytes(Path.of(simulated))).getGraph().getNodeList());
        assertTrue(simOps.contains(MixedPrecisionQdq.OP) && !simOps.contains(ScaledMatMulInteger.OP), "--emit simulate: " + simOps);
    }

    @AfterAll
    static void printWorst() {
        if (WORST.isEmpty()) return;
        StringBuilder sb = new StringBuilder("integer vs simulation, worst max|Δ|/max|y| per model and config:\n");
        WORST.forEach((k, v) -> sb.append("  ").append(k).append(": ").append(v).append('\n'));
        System.out.print(sb);
    }

    // ------------------------------------------------------------------------------------------------ the harness

    /** A linear layer of a case: the tensor it outputs (after its bias, if any), the original model's real value there, its weight. */
    record Layer(String name, String output, float[] reference, String weight, int d, int n) {}

    /**
     * The linear layers that read one activation in the original (one layer, or Q, K and V that share their input) as one
     * model holding just them, with that activation's real value: each layer is fed the same input in both forms.
     */
    record LayerCase(OnnxMl.ModelProto model, String input, long[] shape, float[] x, List<Layer> layers) {
        Map<String, Object> feeds() { return Map.of(input, new ModelInputs.Input(shape, x)); }
    }

    private static int layerCount(List<LayerCase> cases) { return cases.stream().mapToInt(c -> c.layers().size()).sum(); }

    private static List<String> layerNames(List<LayerCase> cases) {
        return cases.stream().flatMap(c -> c.layers().stream()).map(Layer::name).toList();
    }

    /** The two forms of one config, and what both must agree on. */
    private record Forms(StampResult integer, StampResult simulate) {
        static Forms compile(OnnxMl.ModelProto model, StampConfig config, int layers) {
            return compile(model, config, CalibrationStats.NONE, layers);
        }

        static Forms compile(OnnxMl.ModelProto model, StampConfig config, CalibrationStats stats, int layers) {
            StampResult integer = StampCompiler.compile(model, config.toBuilder().emit(Emit.INTEGER).build(), stats);
            StampResult simulate = StampCompiler.compile(model, config.toBuilder().emit(Emit.SIMULATE).build(), stats);
            assertEquals(layers, integer.report().rewritten().size(), "rewritten (integer): " + integer.report().skipped());
            assertEquals(layers, simulate.report().rewritten().size(), "rewritten (simulate): " + simulate.report().skipped());
            for (var l : integer.report().rewritten()) assertTrue(l.detail().contains("MatMulInteger"), "integer layer " + l.name() + ": " + l.detail());
            for (var l : simulate.report().rewritten()) assertFalse(l.detail().contains("MatMulInteger"), "simulated layer " + l.name() + ": " + l.detail());
            return new Forms(integer, simulate);
        }

        /** Whether the layers got the feature rotation: the planner skips it where no Hadamard of order D exists. */
        boolean rotated() {
            return integer.report().rewritten().stream().anyMatch(l -> l.detail().contains("rotate hadamard D=")
                    || l.detail().contains("rotate random-hadamard D="));
        }

        /**
         * The integer model of layers reading one input: one MixedPrecisionQuantize (shared), one ScaledMatMulInteger per
         * layer, no fake quantization, Gemm or DequantizeLinear, and no float MatMul but the shared X·R when rotated; each
         * weight an INT8 [D, N] initializer using the range ±(2^(bits-1) - 1), with its int32 column sums and [N] positive
         * scales; the original float weights gone and no float tensor of any layer's D·N values left (but the orthogonal
         * rotation R when D = N). The simulation: one MixedPrecisionQdq and a float MatMul per layer, no integer ops.
         */
        void assertIntegerStructure(List<Layer> layers, int bits) {
            OnnxMl.GraphProto g = integer.model().getGraph();
            Map<String, Integer> ops = opCounts(g.getNodeList());
            int rotations = rotated() ? 1 : 0;
            assertEquals(1, ops.getOrDefault(MixedPrecisionQuantize.OP, 0), "one shared quantizer in the integer form: " + ops);
            assertEquals(layers.size(), ops.getOrDefault(ScaledMatMulInteger.OP, 0), "integer GEMMs: " + ops);
            for (String absent : List.of(MixedPrecisionQdq.OP, "Gemm", "DequantizeLinear")) assertFalse(ops.containsKey(absent), "integer form: " + ops);
            assertEquals(rotations, ops.getOrDefault("MatMul", 0), "float MatMuls in the integer graph (only X·R when rotated): " + ops);
            Map<String, Integer> simOps = opCounts(simulate.model().getGraph().getNodeList());
            assertEquals(1, simOps.getOrDefault(MixedPrecisionQdq.OP, 0), "simulation: " + simOps);
            assertEquals(layers.size() + rotations, simOps.getOrDefault("MatMul", 0), "simulation: " + simOps);
            assertFalse(simOps.containsKey(ScaledMatMulInteger.OP) || simOps.containsKey(MixedPrecisionQuantize.OP), "simulation: " + simOps);

            List<List<Long>> shapes = new ArrayList<>();
            Set<Long> sizes = new HashSet<>();
            for (Layer l : layers) {
                assertTrue(g.getInitializerList().stream().noneMatch(t -> t.getName().equals(l.weight())), "original float weight '" + l.weight() + "' left");
                shapes.add(List.of((long) l.d(), (long) l.n()));
                sizes.add((long) l.d() * l.n());
            }
            for (OnnxMl.NodeProto call : g.getNodeList()) {
                if (!call.getOpType().startsWith(ScaledMatMulInteger.OP)) continue;
                OnnxMl.TensorProto wq = initializer(g, call.getInput(3));
                OnnxMl.TensorProto colsum = initializer(g, call.getInput(4));
                OnnxMl.TensorProto scale = initializer(g, call.getInput(5));
                assertEquals(OnnxMl.TensorProto.DataType.INT8_VALUE, wq.getDataType(), "weight type of " + wq.getName());
                assertTrue(shapes.remove(wq.getDimsList()), "weight " + wq.getName() + " " + wq.getDimsList() + " is one of the layers' [D, N]");
                int n = (int) wq.getDims(1);
                assertEquals(OnnxMl.TensorProto.DataType.INT32_VALUE, colsum.getDataType());
                assertEquals(List.of((long) n), colsum.getDimsList());
                assertEquals(OnnxMl.TensorProto.DataType.FLOAT_VALUE, scale.getDataType());
                assertEquals(List.of((long) n), scale.getDimsList());
                int[] q = Tensors.readBytes(wq, OnnxMl.TensorProto.DataType.INT8_VALUE).orElseThrow();
                int qmax = (1 << (bits - 1)) - 1, seenMax = 0;
                for (int v : q) seenMax = Math.max(seenMax, Math.abs(v));
                assertEquals(qmax, seenMax, "int" + bits + " values of " + wq.getName() + " use the range ±" + qmax);
                int[] sums = new int[n];
                for (int i = 0; i < q.length; i++) sums[i % n] += q[i];
                assertTrue(java.util.Arrays.equals(sums, int32s(colsum)), "w_colsum = Σ_d Wq[d, n] for " + wq.getName());
                for (float s : Tensors.floats(scale)) assertTrue(s > 0 && Float.isFinite(s), "weight scale " + s);
            }
            for (OnnxMl.TensorProto t : allTensors(integer.model())) {
                if (t.getDataType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE && t.getDataType() != OnnxMl.TensorProto.DataType.DOUBLE_VALUE
                        && t.getDataType() != OnnxMl.TensorProto.DataType.FLOAT16_VALUE) continue;
                if (!sizes.contains(Tensors.numel(t))) continue;
                boolean rotation = rotations == 1 && t.getDimsCount() == 2 && t.getDims(0) == t.getDims(1)
                        && isOrthogonal(Tensors.floats(t), (int) t.getDims(0));
                assertTrue(rotation, "float tensor '" + t.getName() + "' of " + Tensors.numel(t) + " values in the integer model: a float copy of a weight");
            }
        }
    }

    /** Compares every layer of {@code cases} in both forms of {@code config}; records and asserts the worst. */
    private static void checkEveryLayer(String modelLabel, List<LayerCase> cases, String label, StampConfig config) {
        checkEveryLayer(modelLabel, cases, label, config, CalibrationStats.NONE);
    }

    private static void checkEveryLayer(String modelLabel, List<LayerCase> cases, String label, StampConfig config, CalibrationStats stats) {
        double worst = -1;
        String worstLayer = "";
        List<String> failures = new ArrayList<>();
        int rotated = 0;
        for (LayerCase c : cases) {
            Forms f = Forms.compile(c.model(), config, stats, c.layers().size());
            f.assertIntegerStructure(c.layers(), config.weights().bits());
            if (f.rotated()) rotated += c.layers().size();
            Map<String, float[]> integer = run(f.integer.model(), c.feeds());
            Map<String, float[]> simulate = run(f.simulate.model(), c.feeds());
            for (Layer l : c.layers()) {
                float[] yi = integer.get(l.output()), ys = simulate.get(l.output());
                assertNotNull(yi, l.output());
                double rel = relative(ys, yi);
                if (rel > worst) {
                    worst = rel;
                    worstLayer = l.name();
                }
                if (!(rel <= TOLERANCE)) failures.add(String.format(Locale.ROOT, "%s: %.3g", l.name(), rel));
                assertQuantizationIsReal(l.reference(), yi, modelLabel + " " + label + " " + l.name());
            }
        }
        int layers = layerCount(cases);
        String rotation = config.rotation() == StampConfig.Rotation.NONE ? "" : " [rotated " + rotated + "/" + layers + " layers]";
        record(modelLabel, label + rotation, worstLayer, worst);
        assertTrue(failures.isEmpty(), modelLabel + " " + label + ": integer vs simulation max|Δ|/max|y| above " + TOLERANCE + " in "
                + failures.size() + "/" + layers + " layers: " + failures);
    }

    /** The integer output is a quantized version of the float one: close (SQNR above 8 dB) but not equal. */
    private static void assertQuantizationIsReal(float[] reference, float[] quantized, String what) {
        double signal = 0, noise = 0;
        for (int i = 0; i < reference.length; i++) {
            signal += (double) reference[i] * reference[i];
            double e = reference[i] - quantized[i];
            noise += e * e;
        }
        double sqnr = 10 * Math.log10(signal / noise);
        assertTrue(sqnr > 8 && sqnr < 80, what + ": integer form vs the float layer SQNR " + sqnr + " dB");
    }

    /**
     * Every linear layer of the main graph of {@code model}, grouped by the activation they read, each group as a model
     * of just those layers fed the activation's real value: the original runs once with all layer inputs and outputs
     * exposed.
     */
    private static List<LayerCase> layerCases(OnnxMl.ModelProto model, Map<String, Object> feeds) {
        LayerMatches matches = LayerMatches.of(model, StampConfig.defaults().selection());
        Graph main = matches.graphs().get(0);
        Map<String, List<LinearLayer>> byInput = new LinkedHashMap<>();
        Map<LinearLayer, OnnxMl.NodeProto> biasAdds = new HashMap<>();
        List<String> exposed = new ArrayList<>();
        for (LinearLayer l : matches.layers(main)) {
            byInput.computeIfAbsent(l.activation(), k -> new ArrayList<>()).add(l);
            exposed.add(l.activation());
            biasAdd(main, l).ifPresent(a -> biasAdds.put(l, a));
            exposed.add(biasAdds.containsKey(l) ? biasAdds.get(l).getOutput(0) : l.output());
        }
        Map<String, Value> values = runWithShapes(GraphOutputs.expose(model, exposed), feeds);
        List<LayerCase> out = new ArrayList<>();
        for (Map.Entry<String, List<LinearLayer>> group : byInput.entrySet()) {
            String input = group.getKey();
            Value x = values.get(input);
            if (x == null && feeds.get(input) instanceof ModelInputs.Input in) x = new Value((float[]) in.data(), in.shape());
            assertNotNull(x, "value of " + input);
            OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("layers reading " + input);
            g.addInput(valueInfo(input, x.shape(), group.getValue().get(0).activationShape()));
            List<Layer> layers = new ArrayList<>();
            for (LinearLayer l : group.getValue()) {
                // PP-OCR (paddle2onnx) holds its weights in Constant nodes: the model here holds the same values as an initializer
                OnnxMl.TensorProto w = constant(l.graph(), l.weight())
                        .orElseThrow(() -> new AssertionError("weight of " + l.name() + " is neither an initializer nor a Constant"));
                assertEquals(OnnxMl.TensorProto.DataType.FLOAT_VALUE, w.getDataType(), "float weight of " + l.name());
                g.addInitializer(w);
                if (l.bias().isPresent()) g.addInitializer(constant(main, l.bias().get()).orElseThrow());
                g.addNode(l.node());
                OnnxMl.NodeProto add = biasAdds.get(l);
                String output = add != null ? add.getOutput(0) : l.output();
                if (add != null) {
                    g.addNode(add);
                    for (String in : add.getInputList()) if (!in.equals(l.output())) g.addInitializer(constant(main, in).orElseThrow());
                }
                OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
                for (long d : values.get(output).shape()) shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
                g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(output).setType(OnnxMl.TypeProto.newBuilder()
                        .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape))));
                layers.add(new Layer(l.name(), output, values.get(output).data(), l.weight(), l.features(), l.outputs()));
            }
            OnnxMl.ModelProto m = OnnxMl.ModelProto.newBuilder().setIrVersion(model.getIrVersion()).setProducerName("layers-alone")
                    .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OpsetCheck.defaultOpset(model)))
                    .setGraph(g).build();
            out.add(new LayerCase(m, input, x.shape(), x.data(), layers));
        }
        return out;
    }

    /** The Add right after the layer's MatMul that adds a constant (its bias), when it is the output's only reader. */
    private static Optional<OnnxMl.NodeProto> biasAdd(Graph g, LinearLayer l) {
        if (l.bias().isPresent()) return Optional.empty();
        List<OnnxMl.NodeProto> readers = g.consumers(l.output());
        if (readers.size() != 1 || g.isGraphOutput(l.output())) return Optional.empty();
        OnnxMl.NodeProto add = readers.get(0);
        if (!add.getOpType().equals("Add") || add.getInputCount() != 2) return Optional.empty();
        String other = add.getInput(0).equals(l.output()) ? add.getInput(1) : add.getInput(0);
        return constant(g, other).isPresent() ? Optional.of(add) : Optional.empty();
    }

    /** The value of an initializer or Constant node {@code name}, as an initializer of that name. */
    private static Optional<OnnxMl.TensorProto> constant(Graph g, String name) {
        return ConstantValues.tensor(g, name).map(t -> t.toBuilder().setName(name).build());
    }

    /** A float input of the run's rank: the dims the compiler saw in the whole model where static, else symbolic. */
    private static OnnxMl.ValueInfoProto valueInfo(String name, long[] actual, long[] inferred) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (int i = 0; i < actual.length; i++) {
            boolean known = inferred != null && inferred.length == actual.length && inferred[i] > 0;
            shape.addDim(known ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(inferred[i])
                    : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("d" + i));
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    // ---------------------------------------------------------------------------------------- ONNX Runtime helpers

    private record Value(float[] data, long[] shape) {}

    private static OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(1);
        so.setInterOpNumThreads(1);
        return so;
    }

    private static Map<String, float[]> run(OnnxMl.ModelProto model, Map<String, Object> feeds) {
        Map<String, float[]> out = new LinkedHashMap<>();
        runWithShapes(model, feeds).forEach((k, v) -> out.put(k, v.data()));
        return out;
    }

    /** Runs {@code model} on {@code feeds} (ModelInputs.Input, float[] of a Value, or a Boolean scalar); the float outputs. */
    private static Map<String, Value> runWithShapes(OnnxMl.ModelProto model, Map<String, Object> feeds) {
        try (OrtSession.SessionOptions so = options(); OrtSession session = ENV.createSession(model.toByteArray(), so)) {
            Map<String, OnnxTensor> tensors = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, Object> e : feeds.entrySet()) {
                    if (!session.getInputNames().contains(e.getKey())) continue;
                    OnnxTensor t;
                    if (e.getValue() instanceof ModelInputs.Input in) t = in.toTensor(ENV);
                    else if (e.getValue() instanceof Boolean b) t = OnnxTensor.createTensor(ENV, b);
                    else throw new IllegalArgumentException("feed " + e.getKey());
                    tensors.put(e.getKey(), t);
                }
                Map<String, Value> out = new LinkedHashMap<>();
                try (OrtSession.Result r = session.run(tensors)) {
                    for (Map.Entry<String, OnnxValue> e : r) {
                        if (!(e.getValue() instanceof OnnxTensor t) || t.getInfo().type != ai.onnxruntime.OnnxJavaType.FLOAT) continue;
                        FloatBuffer fb = t.getFloatBuffer();
                        float[] v = new float[fb.remaining()];
                        fb.get(v);
                        out.put(e.getKey(), new Value(v, t.getInfo().getShape()));
                    }
                }
                return out;
            } finally {
                tensors.values().forEach(OnnxTensor::close);
            }
        } catch (OrtException e) {
            throw new AssertionError("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    private static Map<String, OnnxTensor> tensors(Map<String, ModelInputs.Input> inputs) throws OrtException {
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, ModelInputs.Input> e : inputs.entrySet()) out.put(e.getKey(), e.getValue().toTensor(ENV));
        return out;
    }

    /** The model as ONNX Runtime holds it after session creation (functions inlined; no optimization). */
    private static OnnxMl.ModelProto ortInlined(OnnxMl.ModelProto model, Path file) throws Exception {
        try (OrtSession.SessionOptions so = options()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            so.setOptimizedModelFilePath(file.toString());
            ENV.createSession(model.toByteArray(), so).close();
        }
        return OnnxMl.ModelProto.parseFrom(Files.readAllBytes(file));
    }

    // ------------------------------------------------------------------------------------------------ small helpers

    private static ModelInputs.Input gaussian(long seed, long... shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return new ModelInputs.Input(shape, v);
    }

    /** max|expected - actual| / max|expected|. */
    private static double relative(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, "output sizes");
        double maxAbs = 0, maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
            maxDiff = Math.max(maxDiff, Math.abs((double) expected[i] - actual[i]));
        }
        return maxDiff / Math.max(maxAbs, 1e-30);
    }

    private static synchronized void record(String model, String config, String layer, double rel) {
        String key = model + " | " + config;
        String value = String.format(Locale.ROOT, "%.3g (%s)", rel, layer);
        String old = WORST.get(key);
        if (old == null || Double.parseDouble(old.substring(0, old.indexOf(' '))) < rel) WORST.put(key, value);
    }

    private static Map<String, Integer> opCounts(List<OnnxMl.NodeProto> nodes) {
        Map<String, Integer> m = new TreeMap<>();
        for (OnnxMl.NodeProto n : nodes) m.merge(family(n), 1, Integer::sum);
        return m;
    }

    private static Set<String> opTypes(List<OnnxMl.NodeProto> nodes) {
        Set<String> s = new HashSet<>();
        for (OnnxMl.NodeProto n : nodes) s.add(family(n));
        return s;
    }

    /** The integer GEMMs ONNX Runtime runs the integer form with: the standard one, or its contrib kernel with the scales fused. */
    private static final Set<String> INTEGER_GEMMS = Set.of("MatMulInteger", "MatMulIntegerToFloat");

    /** The op type, with an ai.stamp op's body form suffix ("_ort", "_ql") dropped: the op, whichever spelling. */
    private static String family(OnnxMl.NodeProto n) {
        if (!n.getDomain().equals(ai.stamp.ops.StampDomain.NAME)) return n.getOpType();
        for (String op : List.of(MixedPrecisionQuantize.OP, ScaledMatMulInteger.OP)) if (n.getOpType().startsWith(op)) return op;
        return n.getOpType();
    }

    /** The nodes of {@code g} and of every subgraph in it that read {@code tensor}. */
    private static List<OnnxMl.NodeProto> readers(OnnxMl.GraphProto g, String tensor) {
        List<OnnxMl.NodeProto> out = new ArrayList<>(consumers(g, tensor));
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) out.addAll(readers(a.getG(), tensor));
                for (OnnxMl.GraphProto sub : a.getGraphsList()) out.addAll(readers(sub, tensor));
            }
        }
        return out;
    }

    private static List<OnnxMl.NodeProto> consumers(OnnxMl.GraphProto g, String tensor) {
        return g.getNodeList().stream().filter(n -> n.getInputList().contains(tensor)).toList();
    }

    /** Every tensor and initializer {@code tensor} is computed from (itself included). */
    private static Set<String> ancestors(OnnxMl.GraphProto g, String tensor) {
        Map<String, OnnxMl.NodeProto> producers = new HashMap<>();
        for (OnnxMl.NodeProto n : g.getNodeList()) for (String o : n.getOutputList()) producers.put(o, n);
        Set<String> seen = new HashSet<>();
        List<String> todo = new ArrayList<>(List.of(tensor));
        while (!todo.isEmpty()) {
            String t = todo.remove(todo.size() - 1);
            if (t.isEmpty() || !seen.add(t)) continue;
            OnnxMl.NodeProto p = producers.get(t);
            if (p != null) todo.addAll(p.getInputList());
        }
        return seen;
    }

    /** Float MatMuls with an operand computed from constants only that include initializer {@code name}. */
    private static long matMulsReadingConstant(OnnxMl.GraphProto g, String name) {
        Set<String> inputs = new HashSet<>();
        for (OnnxMl.ValueInfoProto v : g.getInputList()) inputs.add(v.getName());
        Set<String> inits = new HashSet<>();
        for (OnnxMl.TensorProto t : g.getInitializerList()) inits.add(t.getName());
        inputs.removeAll(inits);
        long count = 0;
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            if (!n.getOpType().equals("MatMul")) continue;
            for (String operand : n.getInputList()) {
                Set<String> from = ancestors(g, operand);
                boolean constant = from.stream().noneMatch(inputs::contains);
                if (constant && from.contains(name)) count++;
            }
        }
        return count;
    }

    private static OnnxMl.TensorProto initializer(OnnxMl.GraphProto g, String name) {
        return g.getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("'" + name + "' is not an initializer"));
    }

    private static <T> T only(List<T> items, String what) {
        assertEquals(1, items.size(), what + ": " + items.size());
        return items.get(0);
    }

    /** Initializers and Constant values of the graph, its subgraphs and the model's functions. */
    private static List<OnnxMl.TensorProto> allTensors(OnnxMl.ModelProto m) {
        List<OnnxMl.TensorProto> out = new ArrayList<>();
        collect(m.getGraph(), out);
        for (OnnxMl.FunctionProto f : m.getFunctionsList()) for (OnnxMl.NodeProto n : f.getNodeList()) collect(n, out);
        return out;
    }

    private static void collect(OnnxMl.GraphProto g, List<OnnxMl.TensorProto> out) {
        out.addAll(g.getInitializerList());
        for (OnnxMl.NodeProto n : g.getNodeList()) collect(n, out);
    }

    private static void collect(OnnxMl.NodeProto n, List<OnnxMl.TensorProto> out) {
        for (OnnxMl.AttributeProto a : n.getAttributeList()) {
            if (a.hasT()) out.add(a.getT());
            if (a.hasG()) collect(a.getG(), out);
            for (OnnxMl.GraphProto g : a.getGraphsList()) collect(g, out);
        }
    }

    private static int[] int32s(OnnxMl.TensorProto t) {
        if (t.getInt32DataCount() > 0) return t.getInt32DataList().stream().mapToInt(Integer::intValue).toArray();
        ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        int[] v = new int[b.remaining() / 4];
        for (int i = 0; i < v.length; i++) v[i] = b.getInt();
        return v;
    }

    /** R R^T = I, checked on the first rows (R is a candidate float copy of a weight otherwise). */
    private static boolean isOrthogonal(float[] m, int d) {
        for (int i = 0; i < Math.min(d, 8); i++) {
            for (int j = 0; j < d; j++) {
                double dot = 0;
                for (int k = 0; k < d; k++) dot += (double) m[i * d + k] * m[j * d + k];
                if (Math.abs(dot - (i == j ? 1 : 0)) > 1e-4) return false;
            }
        }
        return true;
    }

    private static List<Long> toList(long[] v) {
        List<Long> l = new ArrayList<>();
        for (long x : v) l.add(x);
        return l;
    }
}
