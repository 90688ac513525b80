package ai.stamp.tools;

import static ai.stamp.tools.CliTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampReport;
import ai.stamp.testmodels.GraphBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-line summary says when a configured weight method left weights float, and why. */
class RewriteSummaryTest {
    @TempDir Path dir;

    private static StampReport.Layer layer(String name, String detail) {
        return new StampReport.Layer(name, "MatMul", "main", "x", name + "_out", List.of(8L, 8L), "haar", "sequence", detail);
    }

    private static StampReport report(StampReport.Layer... layers) {
        return new StampReport("weights=rtn8", 13, List.of(layers), List.of(), Map.of());
    }

    @Test
    void groupsTheReasonsOfTheWeightsLeftFloat() {
        StampReport.Layer quantized = layer("a", "A8/4 hi-tokens=sink+band; W8 rtn per-channel as DequantizeLinear(int8)");
        StampReport.Layer half = layer("b", "A8/4 hi-tokens=sink+band; W8 rtn per-channel skipped: weight 'Wb' is FLOAT16, not float32 (weight left as it is)");
        StampReport.Layer half2 = layer("c", "A8/4 hi-tokens=sink+band; rotate hadamard D=8; W8 rtn per-channel skipped: weight 'Wc' is FLOAT16, not float32"
                + " (weight left as it is)");
        StampReport.Layer gptq = layer("d", "A8/4 hi-tokens=sink+band; W4 gptq block=32 skipped: weight 'Wd' is stored as external data, which GPTQ does not"
                + " support (it needs the whole weight in memory); use --weights rtn4 (weight left as it is)");
        assertEquals("1 linear layer(s) rewritten (1 MatMul), 0 MatMul/Gemm skipped", RewriteJob.summary(report(quantized)));
        assertEquals("3 linear layer(s) rewritten (3 MatMul), 0 MatMul/Gemm skipped, 2 weight(s) left float: weight is FLOAT16, not float32",
                RewriteJob.summary(report(quantized, half, half2)));
        assertEquals("3 linear layer(s) rewritten (3 MatMul), 0 MatMul/Gemm skipped, 2 weight(s) left float: 1 × weight is FLOAT16,"
                + " not float32; 1 × weight is stored as external data, which GPTQ does not support (it needs the whole weight in memory);"
                + " use --weights rtn4", RewriteJob.summary(report(quantized, half, gptq)));
        // a skipped feature transform is not a weight left float
        assertEquals("1 linear layer(s) rewritten (1 MatMul), 0 MatMul/Gemm skipped", RewriteJob.summary(report(
                layer("e", "A8/4 hi-tokens=sink+band; rotate skipped: no Hadamard matrix of order 10 (sizes 2^k, 12·2^k, 20·2^k, 28·2^k);"
                        + " W8 rtn per-channel as DequantizeLinear(int8)"))));
    }

    @Test
    void groupTextsLeaveTheNamesOutWithoutAnEllipsisThatLooksCutOff() {
        // the grouping text itself: StampReportSummaryTest (compiler)
        StampReport r = new StampReport("weights=rtn8", 13, List.of(), List.of(new StampReport.Skipped("q", "MatMul", "main", "runtime-operand",
                "second operand 'k_t' is computed at run time (activation x activation, e.g. attention): not a linear layer")), Map.of());
        String s = RewriteJob.summary(r);
        assertFalse(s.contains("…"), s);
        assertTrue(s.contains("1 × runtime-operand (second operand is computed at run time"), s);
    }

    @Test
    void saysHowManyBytesTheUnusedInitializersHeld() {
        StampReport r = new StampReport("weights=rtn8", 17, List.of(), List.of(), List.of(), List.of(), Map.of(),
                List.of(new StampReport.RemovedInitializer("main", "W_q", 3 << 20), new StampReport.RemovedInitializer("main", "W_zp", 1 << 19)));
        assertEquals("0 linear layer(s) rewritten, 0 MatMul/Gemm skipped; 2 unused initializer(s) removed (3.50 MiB)", RewriteJob.summary(r));
    }

    @Test
    void theRewriteSaysWhichWeightsStayedFloat() throws Exception {
        // x -> four MatMuls in a row: the first reads a Transpose of a float initializer (folded and quantized), the
        // other three a Cast of int32 values (not folded: left float)
        GraphBuilder g = new GraphBuilder(3);
        g.input("x", "batch", "seq", 8);
        String h = g.op("MatMul", "m0", "x", g.node("Transpose", "t0", List.of(g.weight("W0", 0.5f, 8, 8)), List.of("W0t")));
        for (int i = 1; i < 4; i++) {
            String w = g.node("Cast", "c" + i, List.of(g.int32Weight("W" + i, 2, 8, 8)), List.of("W" + i + "f"),
                    GraphBuilder.intAttr("to", OnnxMl.TensorProto.DataType.FLOAT_VALUE));
            h = g.op("MatMul", "m" + i, h, w);
        }
        g.output(h, "batch", "seq", 8);
        Path in = dir.resolve("in.onnx");
        Files.write(in, g.model(13, 8).toByteArray());
        CliTest.Run r = cli(in.toString(), dir.resolve("out.onnx").toString(), "--weights", "rtn8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("stamp-onnx: 4 linear layer(s) rewritten (4 MatMul), 0 MatMul/Gemm skipped, 3 weight(s) left float:"
                + " weight is computed from a tensor, which holds int32 values, not floating point\n"), r.out());
        CliTest.Run none = cli(in.toString(), dir.resolve("float.onnx").toString(), "--weights", "none", "--emit", "simulate");
        assertEquals(0, none.code(), none.err());
        assertFalse(none.out().contains("left float"), "no weight method configured: nothing to say\n" + none.out());
    }
}
