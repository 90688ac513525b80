package ai.stamp.tools.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.compiler.quant.RtnQuantizer;
import ai.stamp.tools.RewriteJob;
import com.google.protobuf.ByteString;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The large-model path at test size: a ~40 MB model whose weights are all external data is rewritten with --weights rtn8 by the CLI
 * in a child JVM with a 64 MiB heap, and compared with the same model held fully in memory.
 */
class LargeModelExternalTest {
    @TempDir static Path dir;
    static Path in;
    static Path out;
    static String inHashBefore;
    static String dataHashBefore;
    static LargeModelGenerator.Generated generated;

    @BeforeAll
    static void rewriteInChildJvm() throws Exception {
        in = dir.resolve("in/model.onnx");
        Files.createDirectories(in.getParent());
        generated = LargeModelGenerator.generate(in, new LargeModelGenerator.Spec(512, 3, 7));
        inHashBefore = sha256(in);
        dataHashBefore = sha256(generated.data());
        out = dir.resolve("out/model.stamp.onnx");
        Files.createDirectories(out.getParent());
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-Xmx64m", "-cp", cp, "ai.stamp.tools.StampCli",
                in.toString(), out.toString(), "--weights", "rtn8", "-q").redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), log);
    }

    @Test
    void generatedModelKeepsEveryWeightExternal() {
        assertTrue(generated.dataBytes() > 30_000_000L, "data " + generated.dataBytes());
        assertTrue(generated.modelBytes() < 100_000L, "model " + generated.modelBytes());
        LoadedModel m = ModelFile.read(in);
        assertTrue(m.proto().getGraph().getInitializerList().stream().allMatch(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL));
    }

    @Test
    void outputDataIsAQuarterAndInputUntouchedAndNoScratchLeft() throws Exception {
        long outData = Files.size(out.resolveSibling(out.getFileName() + ".data"));
        double ratio = outData / (double) generated.dataBytes();
        assertTrue(ratio > 0.24 && ratio < 0.27, "out/in data ratio " + ratio);
        assertEquals(inHashBefore, sha256(in));
        assertEquals(dataHashBefore, sha256(generated.data()));
        try (Stream<Path> s = Files.list(out.getParent())) {
            List<String> names = s.map(x -> x.getFileName().toString()).sorted().toList();
            assertEquals(List.of("model.stamp.onnx", "model.stamp.onnx.data"), names);
        }
        try (Stream<Path> s = Files.list(in.getParent())) {
            assertEquals(2, s.count());
        }
    }

    @Test
    void int8DataMatchesRtnOfTheOriginalFloats() throws Exception {
        LoadedModel original = ModelFile.read(in);
        LoadedModel rewritten = ModelFile.read(out);
        int checked = 0;
        for (TensorProto t : rewritten.proto().getGraph().getInitializerList()) {
            if (t.getDataType() != TensorProto.DataType.INT8_VALUE) continue;
            String w = t.getName().replaceAll("_rtn8$", "");
            TensorProto orig = original.proto().getGraph().getInitializerList().stream().filter(x -> x.getName().equals(w)).findFirst().orElseThrow();
            assertTrue(original.proto().getGraph().getInitializerList().stream().noneMatch(x -> x.getName().equals(t.getName())));
            int rows = (int) orig.getDims(0), cols = (int) orig.getDims(1);
            float[] f = toFloats(bytes(original.directory(), orig));
            byte[] expected = RtnQuantizer.quantize(f, rows, cols, 8).values();
            assertArrayEquals(expected, bytes(rewritten.directory(), t), t.getName());
            checked++;
        }
        assertEquals(18, checked);
        // the original float weights are gone from the output
        assertTrue(rewritten.proto().getGraph().getInitializerList().stream().noneMatch(x -> x.getName().endsWith(".weight")));
    }

    @Test
    void runsInOrtAndMatchesTheInMemoryRewrite() throws Exception {
        // the same model with every tensor inline, rewritten in memory
        LoadedModel external = ModelFile.read(in);
        OnnxMl.GraphProto.Builder g = external.proto().getGraph().toBuilder().clearInitializer();
        for (TensorProto t : external.proto().getGraph().getInitializerList()) {
            g.addInitializer(t.toBuilder().clearExternalData().setDataLocation(TensorProto.DataLocation.DEFAULT)
                    .setRawData(ByteString.copyFrom(bytes(external.directory(), t))));
        }
        Path inline = dir.resolve("inline/model.onnx");
        Files.createDirectories(inline.getParent());
        Files.write(inline, external.proto().toBuilder().setGraph(g).build().toByteArray());
        Path inlineOut = dir.resolve("inline/model.stamp.onnx");
        RewriteJob.run(inline, inlineOut, StampConfig.builder().weights(StampConfig.WeightQuant.RTN8).build(), null);

        float[] x = new float[2 * 20 * 512];
        Random r = new Random(3);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] yOrig = run(in, x);
        float[] yExt = run(out, x);
        float[] yMem = run(inlineOut, x);
        assertArrayEquals(yMem, yExt, 0f, "external and in-memory rewrites must give identical outputs");
        double num = 0, den = 0;
        for (int i = 0; i < yOrig.length; i++) {
            num += (double) yOrig[i] * yOrig[i];
            den += (double) (yOrig[i] - yExt[i]) * (yOrig[i] - yExt[i]);
        }
        double sqnr = 10 * Math.log10(num / den);
        assertTrue(sqnr > 15, "SQNR " + sqnr);
    }

    private static float[] run(Path model, float[] x) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(model.toString(), o);
                 OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 20, 512});
                 OrtSession.Result res = s.run(Map.of("x", t))) {
                FloatBuffer fb = ((OnnxTensor) res.get(0)).getFloatBuffer();
                float[] y = new float[fb.remaining()];
                fb.get(y);
                return y;
            }
        }
    }

    private static byte[] bytes(Path directory, TensorProto t) throws Exception {
        String loc = null;
        long off = 0, len = -1;
        for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> loc = e.getValue();
                case "offset" -> off = Long.parseLong(e.getValue());
                case "length" -> len = Long.parseLong(e.getValue());
                default -> { }
            }
        }
        try (FileChannel ch = FileChannel.open(directory.resolve(loc), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate((int) len);
            while (b.hasRemaining()) if (ch.read(b, off + b.position()) < 0) throw new IllegalStateException("short");
            return b.array();
        }
    }

    private static float[] toFloats(byte[] b) {
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    private static String sha256(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream is = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = is.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
