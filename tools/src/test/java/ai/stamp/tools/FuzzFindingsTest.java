package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import ai.stamp.testmodels.WeightsFile;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression tests for the reproducers of an independent fuzz (test resources {@code fuzz/}, README beside them): no
 * exit 1 and no stack trace, a data defect is not "bad option", an invalid model is refused with exit 6 naming the node
 * and the defect, and every exit-0 output loads in ONNX Runtime.
 */
class FuzzFindingsTest {
    @TempDir Path dir;

    private record Run(int code, String out, String err) {}

    private Run cli(String model, String... options) throws Exception {
        Path in = dir.resolve(model);
        try (var s = FuzzFindingsTest.class.getResourceAsStream("fuzz/" + model)) {
            Files.copy(s, in);
        }
        List<String> args = new ArrayList<>(List.of(in.toString(), dir.resolve("out-" + model).toString()));
        args.addAll(List.of(options));
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), args.toArray(new String[0]));
        return new Run(code, out.toString(), err.toString());
    }

    private static void oneLine(Run r, int code, String... fragments) {
        assertEquals(code, r.code(), r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).startsWith("stamp-onnx: error: "), r.err());
        for (String f : fragments) assertTrue(lines.get(0).contains(f), "'" + f + "' in " + lines.get(0));
    }

    @Test
    void anAbsurdShapeHintIsTreatedAsUnknownAndTheOutputLoads() throws Exception {
        Run r = cli("bigdim_valueinfo.onnx");
        assertEquals(0, r.code(), r.err());
        Path out = dir.resolve("out-bigdim_valueinfo.onnx");
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(out.toString())) {
            assertFalse(s.getInputNames().isEmpty());
        }
        // the hint the pass ignored is not repeated in the output (onnx's checker rejects it: CheckedOutputs runs it)
        OnnxMl.ModelProto written = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(out));
        assertTrue(written.getGraph().getValueInfoList().stream().noneMatch(v -> v.getName().equals("shp")), written.getGraph().getValueInfoList().toString());
    }

    @Test
    void aNanWeightSkipsItsLayerWithAReasonInsteadOfBadOption() throws Exception {
        oneLine(cli("nan_weight.onnx", "--weights", "rtn8"), 8, "non-finite-weight", "holds NaN, which has no int8 scale");
    }

    @Test
    void aWeightWhoseQuantizedArithmeticWouldOverflowIsLeftAloneNotTurnedIntoNaN() throws Exception {
        oneLine(cli("big_weight.onnx", "--weights", "rtn8"), 8, "non-finite-weight", "would overflow float32");
    }

    @Test
    void duplicateOpsetImportsAreRefusedClearly() throws Exception {
        oneLine(cli("dup_opset.onnx"), 6, "imports the default domain twice (opset 13 and 22)", "one opset_import per domain");
    }

    @Test
    void modelsOnnxRuntimeRejectsAreRefusedNamingTheNodeAndTheDefect() throws Exception {
        oneLine(cli("inv_drop_W1.onnx"), 6, "node 'fc1' reads 'W1', which nothing defines");
        oneLine(cli("inv_int32_weight.onnx"), 6, "MatMul 'proj' multiplies FLOAT 'x' by INT32 'W'");
        oneLine(cli("inv_dup_output.onnx"), 6, "tensor 'mm' is the output of two nodes");
        oneLine(cli("inv_cycle.onnx"), 6, "node 'proj' is on a cycle");
    }

    @Test
    void anOverridableWeightIsNeverBaked() throws Exception {
        oneLine(cli("weight_is_input.onnx", "--weights", "rtn8"), 8, "overridable-weight");
    }

    /** Large --levels embedded dense 2^L x 2^L matrices in every transform op (a 3.5 KB model became 201 MB at level 12). */
    @Test
    void levelsThatWouldEmbedHugeMatricesAreABadOption() throws Exception {
        oneLine(cli("big_weight.onnx", "--levels", "12"), 2, "makes blocks of 4096 tokens", "use --levels <= 8 for haar");
        oneLine(cli("nan_weight.onnx", "--transform", "haar2d", "--levels", "5", "--grid", "4x8"), 2, "blocks of 1024 tokens", "--levels <= 4 for haar2d");
    }

    /**
     * A NaN in a weight kept as external data is only seen when the weight is streamed, after the layer was planned: a
     * model-data error (exit 11) naming the tensor, not "bad option", and nothing written.
     */
    @Test
    void aNanWeightInExternalDataIsAModelDataErrorNamingTheTensor() throws Exception {
        OnnxMl.ModelProto.Builder m = TinyGraphs.encoderBlock(13, 8, 1).toBuilder();
        m.getGraphBuilder().getInitializerBuilderList().stream().filter(t -> t.getName().equals("Wq")).findFirst().orElseThrow()
                .setFloatData(5, Float.NaN);
        Path in = dir.resolve("nan.onnx");
        Files.write(in, WeightsFile.externalize(m.build(), dir).toByteArray());
        Path out = dir.resolve("nan-out.onnx");
        StringWriter err = new StringWriter();
        int code = StampCli.run(new PrintWriter(new StringWriter()), new PrintWriter(err), in.toString(), out.toString(), "--weights", "rtn8");
        oneLine(new Run(code, "", err.toString()), 11, "weight 'Wq' (external data) holds NaN, which has no int8 scale", "--exclude");
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(dir.resolve("nan-out.onnx.data")));
    }

    /** An IllegalArgumentException from deep in the pass is a defect of the tool, not the user's option: exit 1, named so. */
    @Test
    void anUnexpectedIllegalArgumentIsAnInternalErrorNotABadOption() {
        assertEquals(1, StampCli.exitCode(new IllegalArgumentException("bufferSize must be >= 0")));
        assertTrue(StampCli.describe(new IllegalArgumentException("bufferSize must be >= 0")).startsWith("internal error, IllegalArgumentException"));
        assertEquals(11, StampCli.exitCode(new ai.stamp.compiler.StampException(ai.stamp.compiler.StampException.Kind.MODEL_DATA, "x")));
    }

    /**
     * {@code shared_4k.onnx} (make_shared_weight.py 384 384 4000): one 384 x 384 weight read by 4,000 MatMuls. With
     * {@code --rotate hadamard} the output passed protobuf's 2 GB after 95 s (a rotated copy per reader); now the rotated
     * weight is stored once and the output is the nodes plus one weight.
     */
    @Test
    void aWeightReadByFourThousandLayersIsRotatedAndStoredOnce() throws Exception {
        int k = 384, readers = 4000;
        java.util.Random rnd = new java.util.Random(0);
        OnnxMl.TensorProto.Builder w = OnnxMl.TensorProto.newBuilder().setName("W").setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                .addDims(k).addDims(k);
        for (int i = 0; i < k * k; i++) w.addFloatData((float) rnd.nextGaussian() * 0.02f);
        GraphBuilder g = new GraphBuilder(0);
        g.input("x", "B", "S", k);
        g.graph().addInitializer(w);
        for (int i = 0; i < readers; i++) g.node("MatMul", "mm_" + i, List.of("x", "W"), List.of(i == 0 ? "y" : "dead_" + i));
        g.output("y", "B", "S", k);
        Path in = dir.resolve("shared_4k.onnx"), out = dir.resolve("out-shared_4k.onnx");
        Files.write(in, g.model(13, 8).toByteArray());
        StringWriter err = new StringWriter();
        int code = StampCli.run(new PrintWriter(new StringWriter()), new PrintWriter(err), in.toString(), out.toString(), "-q", "--rotate", "hadamard");
        assertEquals(0, code, err.toString());
        assertTrue(Files.size(out) < 8_000_000, "output " + Files.size(out) + " bytes: the rotated weight once, not per reader");
        OnnxMl.ModelProto written = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(out));
        // [384, 384] tensors: the rotated int8 weight once, and the Hadamard matrix the activation is rotated by
        List<Integer> square = written.getGraph().getInitializerList().stream().filter(t -> t.getDimsCount() == 2 && t.getDims(0) == k
                && t.getDims(1) == k).map(OnnxMl.TensorProto::getDataType).sorted().toList();
        assertEquals(List.of(OnnxMl.TensorProto.DataType.FLOAT_VALUE, OnnxMl.TensorProto.DataType.INT8_VALUE), square,
                "one stored weight for " + readers + " readers, beside the rotation");
        // no ORT session here: ONNX Runtime's memory-reuse planner takes minutes on 8,000 function calls (see the closing
        // note of issue 12); CheckedOutputs gives the output to onnx's full checker instead
    }
}
