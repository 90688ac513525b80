package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
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
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(dir.resolve("out-bigdim_valueinfo.onnx").toString())) {
            assertFalse(s.getInputNames().isEmpty());
        }
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
}
