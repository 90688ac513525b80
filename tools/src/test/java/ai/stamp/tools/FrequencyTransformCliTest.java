package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.stamp.ops.SequenceTransform;
import ai.stamp.testmodels.TinyGraphs;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --transform dct|wht} through the real entry point: models ORT loads and runs, validate, the HTML energy plot. */
class FrequencyTransformCliTest {
    @TempDir Path dir;

    private Path block() throws Exception {
        Path p = dir.resolve("block.onnx");
        Files.write(p, TinyGraphs.encoderBlock(13, 8, 1).toByteArray());
        return p;
    }

    /** Output {@code hidden}'s SQNR from {@code validate --report}. */
    private double validatedSqnr(Path original, Path rewritten) throws Exception {
        Path rep = dir.resolve(rewritten.getFileName() + ".json");
        CliTest.Run v = CliTest.cli("validate", original.toString(), rewritten.toString(), "--samples", "2", "--dim", "seq=40",
                "--report", rep.toString(), "-q");
        assertEquals(0, v.code(), v.err());
        JsonObject out = JsonParser.parseString(Files.readString(rep)).getAsJsonObject().getAsJsonArray("outputs").get(0).getAsJsonObject();
        assertEquals("hidden", out.get("name").getAsString());
        return out.get("sqnr_db").isJsonNull() ? Double.POSITIVE_INFINITY : out.get("sqnr_db").getAsDouble();
    }

    @Test
    void dctAndWhtModelsLoadAndRunInOrt() throws Exception {
        Path in = block();
        for (String id : new String[] {"dct", "wht"}) {
            String op = id.equals("dct") ? "DctSequence" : "WhtSequence";
            Path out = dir.resolve(id + ".onnx");
            CliTest.Run r = CliTest.cli(in.toString(), out.toString(), "--transform", id, "-q");
            assertEquals(0, r.code(), r.err());
            OnnxMl.ModelProto m = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(out));
            assertTrue(m.getFunctionsList().stream().anyMatch(f -> f.getName().equals(op + "_l3_s1")), id);
            assertTrue(m.getFunctionsList().stream().anyMatch(f -> f.getName().equals("TokenPrecision_" + id + "_l3_s1_b8-4_band")), id);
            assertTrue(TokenEnergy.configOf(m).contains("transform=" + id + " "), TokenEnergy.configOf(m));

            // ORT loads the file as written and runs it
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            float[] x = new float[40 * 8];
            Random rnd = new Random(2);
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            try (OrtSession s = env.createSession(out.toString(), new OrtSession.SessionOptions());
                 OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, 40, 8});
                 OrtSession.Result res = s.run(Map.of("x", t))) {
                float[] hidden = ((float[][][]) res.get("hidden").orElseThrow().getValue())[0][0];
                for (float v : hidden) assertTrue(Float.isFinite(v), id);
            }
            double stamp = validatedSqnr(in, out);
            assertTrue(stamp > 10 && stamp < 80, id + ": 8/4-bit activations: " + stamp + " dB");

            Path exact = dir.resolve(id + "-exact.onnx");
            assertEquals(0, CliTest.cli(in.toString(), exact.toString(), "--transform", id, "--mode", "transform-only", "-q").code());
            assertTrue(validatedSqnr(in, exact) > 90, id + " transform-only reproduces the original");
        }
    }

    @Test
    void htmlEnergyPlotUsesTheLayersOwnTransform() throws Exception {
        Path in = block();
        Path calib = dir.resolve("calib");
        Random r = new Random(4);
        for (int s = 0; s < 2; s++) {
            int seq = 48, d = 8;
            ByteBuffer b = ByteBuffer.allocate(4 * seq * d).order(ByteOrder.LITTLE_ENDIAN);
            for (int t = 0; t < seq; t++) for (int f = 0; f < d; f++) b.putFloat((float) (Math.sin(0.1 * t + f + s) + 0.05 * r.nextGaussian()));
            OnnxMl.TensorProto t = OnnxMl.TensorProto.newBuilder().setName("x").setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                    .addDims(1).addDims(seq).addDims(d).setRawData(ByteString.copyFrom(b.array())).build();
            Files.createDirectories(calib.resolve(Integer.toString(s)));
            Files.write(calib.resolve(s + "/x.pb"), t.toByteArray());
        }
        // fixed rule: the plot is the DCT at the config's levels
        Path dct = dir.resolve("dct.onnx");
        assertEquals(0, CliTest.cli(in.toString(), dct.toString(), "--transform", "dct", "--levels", "2", "-q").code());
        Path html = dir.resolve("dct.html");
        CliTest.Run v = CliTest.cli("validate", in.toString(), dct.toString(), "--samples", "1", "--dim", "seq=40", "--html", html.toString(), "-q");
        assertEquals(0, v.code(), v.err());
        String page = Files.readString(html);
        assertTrue(page.contains("after the block DCT-II (standard order)"), "the layer's transform");
        assertTrue(page.contains(">k0<") && page.contains(">k3<") && !page.contains(">k4<"), "levels 2: bands k0..k3");
        assertTrue(page.contains("<td class=\"name\">after (dct)</td>"));
        assertFalse(page.contains("Haar"), "no Haar wording on a DCT page");

        // energy allocation: each layer's levels are its own, read from the functions it inserted
        Path wht = dir.resolve("wht.onnx");
        CliTest.Run e = CliTest.cli(in.toString(), wht.toString(), "--transform", "wht", "--allocate", "energy", "--avg-bits", "5",
                "--calib", calib.toString(), "-q");
        assertEquals(0, e.code(), e.err());
        OnnxMl.ModelProto m = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(wht));
        Validator.Layer first = Validator.rewrittenLayers(m).get(0);
        SequenceTransform t = TokenEnergy.insertedTransform(m, first.output()).orElseThrow();
        assertEquals("wht", t.id());
        String forward = "WhtSequence_l" + t.levels() + "_s1";
        assertTrue(m.getFunctionsList().stream().anyMatch(f -> f.getName().equals(forward)), forward);
        Path html2 = dir.resolve("wht.html");
        assertEquals(0, CliTest.cli("validate", in.toString(), wht.toString(), "--samples", "1", "--dim", "seq=40", "--html", html2.toString(), "-q").code());
        String page2 = Files.readString(html2);
        assertTrue(page2.contains("after the Walsh-Hadamard (sequency order) (standard order)"), "WHT plot");
        assertTrue(page2.contains("levels=" + t.levels() + ")"), "the allocator's levels for this layer");

        // with the inverse on the input side the layer's output comes from the MatMul, one op below the inverse
        OnnxMl.ModelProto input = ai.stamp.compiler.StampCompiler.compile(TinyGraphs.encoderBlock(13, 8, 1), ai.stamp.compiler.StampConfig.builder()
                .transform("dct").levels(2).inverseAt(ai.stamp.compiler.StampConfig.InversePlacement.INPUT).build()).model();
        for (Validator.Layer l : Validator.rewrittenLayers(input)) {
            assertEquals("DctTransform[levels=2, sinkTokens=1]", TokenEnergy.insertedTransform(input, l.output()).orElseThrow().toString(), l.name());
        }
        OnnxMl.ModelProto baseline = ai.stamp.compiler.StampCompiler.compile(TinyGraphs.encoderBlock(13, 8, 1), ai.stamp.compiler.StampConfig.builder()
                .transform("dct").mode(ai.stamp.compiler.StampConfig.Mode.BASELINE).build()).model();
        for (Validator.Layer l : Validator.rewrittenLayers(baseline)) {
            assertTrue(TokenEnergy.insertedTransform(baseline, l.output()).isEmpty(), "the baseline's " + l.name() + " inserts none");
        }

        // the matched baseline inserts no transform: the plot says what the configured transform would do
        Path base = dir.resolve("base.onnx");
        assertEquals(0, CliTest.cli(in.toString(), base.toString(), "--transform", "wht", "--mode", "baseline", "-q").code());
        Path html3 = dir.resolve("base.html");
        assertEquals(0, CliTest.cli("validate", in.toString(), base.toString(), "--samples", "1", "--dim", "seq=40", "--html", html3.toString(), "-q").code());
        String page3 = Files.readString(html3);
        assertTrue(page3.contains("inserts no 1D sequence transform (mode=baseline transform=wht)"), "note");
        assertTrue(page3.contains("after the Walsh-Hadamard (sequency order)"));
    }
}
