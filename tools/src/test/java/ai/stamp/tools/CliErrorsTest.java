package ai.stamp.tools;

import static ai.stamp.tools.CliTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.QuantizedGraphs;
import ai.stamp.testmodels.TinyGraphs;
import ai.stamp.tools.fuzz.ModelFuzzer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 5: every user error through the real entry point, --dry-run, --allow-noop, quantized models, a fuzz subset. */
class CliErrorsTest {
    @TempDir Path dir;

    private Path write(String name, byte[] bytes) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private Path tiny() throws Exception { return write("tiny.onnx", TinyGraphs.encoderBlock(13, 8, 1).toByteArray()); }

    private String out() { return dir.resolve("out.onnx").toString(); }

    @Test
    void unreadableInputIsAFolder() {
        cli(dir.toString(), out()).failsWith(3, "is not a readable file");
    }

    @Test
    void truncatedProtobuf() throws Exception {
        byte[] b = TinyGraphs.encoderBlock(13, 8, 1).toByteArray();
        Path p = write("half.onnx", Arrays.copyOf(b, b.length / 2));
        cli(p.toString(), out()).failsWith(4, "half.onnx is not a valid ONNX model: the protobuf is truncated");
        assertFalse(Files.exists(Path.of(out())));
    }

    @Test
    void corruptProtobuf() throws Exception {
        byte[] b = TinyGraphs.encoderBlock(13, 8, 1).toByteArray();
        for (int i = 0; i < 12; i++) b[i] = (byte) 0xff;
        Path p = write("flipped.onnx", b);
        CliTest.Run r = cli(p.toString(), out());
        r.failsWith(4, "flipped.onnx is not");
        assertTrue(r.err().contains("re-export") || r.err().contains("exported .onnx"), r.err());
    }

    @Test
    void initializerDimsDisagreeWithItsData() throws Exception {
        OnnxMl.ModelProto.Builder b = TinyGraphs.encoderBlock(13, 8, 1).toBuilder();
        b.getGraphBuilder().getInitializerBuilder(0).setDims(0, 1L << 40);
        Path p = write("dims.onnx", b.build().toByteArray());
        cli(p.toString(), out()).failsWith(4, "initializer 'Wq' has dims [1099511627776, 8] but holds 64 value(s); re-export the model");
    }

    @Test
    void missingExternalData() throws Exception {
        OnnxMl.ModelProto m = TinyGraphs.encoderBlock(13, 8, 1);
        OnnxMl.ModelProto.Builder b = m.toBuilder();
        OnnxMl.TensorProto.Builder w = b.getGraphBuilder().getInitializerBuilder(0);
        w.clearFloatData().setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin"));
        Path p = write("ext.onnx", b.build().toByteArray());
        cli(p.toString(), out()).failsWith(5, "weights.bin, which is missing: put it beside the model");
    }

    @Test
    void unsupportedOpsetAndIrVersion() throws Exception {
        Path o10 = write("o10.onnx", TinyGraphs.encoderBlock(13, 8, 1).toBuilder()
                .setOpsetImport(0, OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(10)).build().toByteArray());
        cli(o10.toString(), out()).failsWith(6, "uses opset 10; stamp-onnx writes ops for opsets 11..21 (convert the model with onnx.version_converter first)");
        Path ir = write("ir11.onnx", TinyGraphs.encoderBlock(13, 8, 1).toBuilder().setIrVersion(11).build().toByteArray());
        cli(ir.toString(), out()).failsWith(6, "has IR version 11; stamp-onnx reads IR up to 10");
    }

    @Test
    void nothingToRewriteWritesNothingUnlessAllowNoop() throws Exception {
        Path in = tiny();
        CliTest.Run r = cli(in.toString(), out(), "--exclude", ".");
        r.failsWith(8, "no linear layer of " + in + " qualifies");
        assertTrue(r.err().contains("pass --allow-noop"), r.err());
        assertFalse(Files.exists(Path.of(out())), "nothing written");
        CliTest.Run ok = cli(in.toString(), out(), "--exclude", ".", "--allow-noop");
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.err().startsWith("stamp-onnx: warning: no linear layer"), ok.err());
        assertEquals(OnnxMl.ModelProto.parseFrom(Files.readAllBytes(in)), OnnxMl.ModelProto.parseFrom(Files.readAllBytes(Path.of(out()))),
                "--allow-noop writes the model unchanged");
    }

    @Test
    void unwritableOutputLocation() throws Exception {
        Path in = tiny();
        Path file = write("somefile.txt", new byte[] {1});
        cli(in.toString(), file.resolve("out.onnx").toString()).failsWith(9, "somefile.txt is a file, not a folder");
        cli(in.toString(), dir.resolve("no/such/folder/out.onnx").toString()).failsWith(9, "does not exist; create it first");
        cli(in.toString(), dir.toString()).failsWith(9, "it is a folder");
    }

    @Test
    void moreBadOptionValues() throws Exception {
        Path in = tiny();
        cli(in.toString(), out(), "--levels", "13").failsWith(2, "--levels");
        cli(in.toString(), out(), "--hi-bits", "1").failsWith(2, "--hi-bits must be in 2..8, got 1");
        cli(in.toString(), out(), "--transform", "haar2d", "--grid", "0x4").failsWith(2, "--grid");
        cli(in.toString(), out(), "--exclude", "[").failsWith(2, "is not a valid regular expression");
    }

    @Test
    void dryRunListsLikeInspectAndWritesNothing() throws Exception {
        Path in = tiny();
        Path report = dir.resolve("r.json");
        CliTest.Run r = cli(in.toString(), out(), "--dry-run", "--report", report.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(Path.of(out())), "dry run writes no model");
        assertTrue(Files.exists(report), "the report is still written");
        CliTest.Run inspect = cli("inspect", in.toString());
        String listing = inspect.out().substring(0, inspect.out().indexOf("config:"));
        assertTrue(r.out().startsWith(listing), "dry-run prints the inspect listing:\n" + r.out() + "\nvs\n" + inspect.out());
        assertTrue(r.out().matches("(?s).*REWRITE  MatMul +q +main +\\(.*"), r.out());
        assertTrue(r.out().contains("dry run: " + out() + " not written"), r.out());
        // a dry run still checks the output location
        cli(in.toString(), dir.resolve("missing/out.onnx").toString(), "--dry-run").failsWith(9, "does not exist");
    }

    @Test
    void alreadyQuantizedModels() throws Exception {
        Path qdq = write("qdq.onnx", QuantizedGraphs.qdq(13).toByteArray());
        CliTest.Run r = cli(qdq.toString(), out());
        r.failsWith(8, "already quantized");
        CliTest.Run inspect = cli("inspect", qdq.toString());
        assertTrue(inspect.out().matches("(?s).*skip     MatMul +fc1 +main +\\(already quantized: weight 'W1' is DequantizeLinear 'W1_dq' of int8 constant 'W1_q'; use --dequantize-weights.*"),
                inspect.out());
        CliTest.Run ok = cli(qdq.toString(), out(), "--dequantize-weights");
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("2 linear layer(s) rewritten"), ok.out());
        Path dyn = write("dyn.onnx", QuantizedGraphs.dynamic(13).toByteArray());
        assertTrue(cli("inspect", dyn.toString()).out().matches("(?s).*skip     MatMulInteger +q +main +\\(already quantized: MatMulInteger.*"));
        CliTest.Run d = cli(dyn.toString(), out(), "--dequantize-weights");
        assertEquals(0, d.code(), d.err());
        assertTrue(d.out().contains("2 linear layer(s) rewritten"), d.out());
    }

    @Test
    void fuzzSubsetFindsNothing() throws Exception {
        ModelFuzzer.Summary s = new ModelFuzzer(dir, false, false, false).run(42, 0, 200, 60_000);
        assertTrue(s.findings.isEmpty(), s.toString());
        assertTrue(s.cases >= 150, s.toString());
    }
}
