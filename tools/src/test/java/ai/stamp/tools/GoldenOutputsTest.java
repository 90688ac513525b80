package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.QuantizedGraphs;
import ai.stamp.testmodels.RealModels;
import ai.stamp.testmodels.TinyGraphs;
import ai.stamp.tools.bench.LargeModelGenerator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Safety net for compiler refactors: the exact bytes of the rewritten model for a fixed set of inputs and options.
 *
 * <p>Each case rewrites a model with options parsed by the CLI's own {@link StampOptions} (so they read as
 * {@code stamp-onnx IN OUT --weights rtn8} would) and writes it with {@link ModelFile} as {@code rewrite} does
 * ({@link RewriteJob#run} for the uncalibrated cases); the sha256 of {@code OUT.onnx} (and of {@code OUT.onnx.data}
 * for the external-data case, on its own line as {@code <case>.data}) is compared with
 * {@code src/test/resources/golden/outputs.sha256}, whose lines read {@code <sha256>  <case-name>} (sha256sum's
 * format). A case whose bytes changed fails the test with its name; every differing case is listed. Each case also
 * has a {@code <case>.nodoc} hash: of the model with every node's doc_string cleared, so a change of the labels the
 * compiler writes there shows as a change of the full hash alone.
 *
 * <p>The cases needing calibration (gptq4, smooth, energy) share one calibration of all-MiniLM-L6-v2 on the built-in
 * text ({@link DefaultText}, 4 windows of 128 tokens, as {@code --calib FILE --calib-samples 4 --calib-seq-len 128}),
 * collected with the X^T X that GPTQ needs: the gram is only read by GPTQ, so smooth and energy compile to the same
 * bytes as with a calibration of their own.
 *
 * <p><b>Regenerating the golden file</b> (only when an output change is intended; say why in the commit):
 * <pre>
 * mvn -B -o -pl tools -am test -Dtest=GoldenOutputsTest -Dsurefire.failIfNoSpecifiedTests=false -Dstamp.golden.update=true
 * </pre>
 * With {@code -Dstamp.golden.update=true} the test writes the hashes it computed to the golden file in the source tree
 * ({@code tools/src/test/resources/golden/outputs.sha256}) instead of comparing, and passes.
 */
class GoldenOutputsTest {
    static final String UPDATE_PROPERTY = "stamp.golden.update";
    static final String GOLDEN = "src/test/resources/golden/outputs.sha256";
    static final int CALIB_SAMPLES = 4;
    static final int CALIB_SEQ_LEN = 128;

    @TempDir Path dir;

    /** One rewrite: a model, CLI options, and whether it uses the shared MiniLM calibration. */
    private record Case(String name, Supplier<Path> model, boolean calibrated, String... args) {}

    private List<Case> cases() {
        Supplier<Path> miniLm = RealModels::miniLm;
        return List.of(
                new Case("minilm-defaults", miniLm, false),
                new Case("minilm-mode-baseline", miniLm, false, "--mode", "baseline"),
                new Case("minilm-mode-transform-only", miniLm, false, "--mode", "transform-only"),
                new Case("minilm-weights-rtn8", miniLm, false, "--weights", "rtn8"),
                new Case("minilm-weights-none", miniLm, false, "--weights", "none"),
                new Case("minilm-weights-rtn8-emit-simulate", miniLm, false, "--weights", "rtn8", "--emit", "simulate"),
                new Case("minilm-portable", miniLm, false, "--portable"),
                new Case("minilm-quantize-embeddings", miniLm, false, "--quantize-embeddings"),
                new Case("minilm-weights-gptq4-calib", miniLm, true, "--weights", "gptq4"),
                new Case("minilm-rotate-hadamard", miniLm, false, "--rotate", "hadamard"),
                new Case("minilm-smooth-0.5-calib", miniLm, true, "--smooth", "0.5"),
                new Case("minilm-allocate-energy-avg-bits-5-calib", miniLm, true, "--allocate", "energy", "--avg-bits", "5"),
                new Case("ppocrv4-rec-defaults", RealModels::ppOcrV4Rec, false),
                new Case("vitlike-transform-haar2d", () -> write("vit.onnx", TinyGraphs.vitLike(17, 8, 8, 16, 4).toByteArray()), false,
                        "--transform", "haar2d"),
                new Case("qdq-dequantize-weights", () -> write("qdq.onnx", QuantizedGraphs.qdq(13).toByteArray()), false,
                        "--dequantize-weights"),
                new Case("external-data-weights-rtn8", this::externalModel, false, "--weights", "rtn8"));
    }

    @Test
    void outputsAreByteIdenticalToTheGoldenHashes() throws Exception {
        Map<String, String> actual = new LinkedHashMap<>();
        CalibrationStats stats = null;
        Path outDir = Files.createDirectories(dir.resolve("out"));
        for (Case c : cases()) {
            StampConfig config = config(c.args());
            Path in = c.model().get();
            Path out = outDir.resolve("OUT.onnx");
            Path data = outDir.resolve("OUT.onnx.data");
            if (c.calibrated()) {
                if (stats == null) stats = calibrateMiniLm();
                // the shared stats were collected for sink 1 and no --exclude: a case that differs needs its own
                assertEquals(1, config.sinkTokens(), c.name());
                assertTrue(config.exclude().isEmpty(), c.name());
                LoadedModel model = ModelFile.read(in);
                StampResult r = StampCompiler.compile(model.proto(), config, stats, ExternalWeights.of(model.directory(), outDir));
                assertFalse(r.report().rewritten().isEmpty(), c.name() + ": nothing rewritten");
                ModelFile.write(r, model.directory(), out);
            } else {
                RewriteJob.run(in, out, config, null, null, null, RewriteJob.Mode.WRITE_IF_CHANGED, null);
            }
            actual.put(c.name(), sha256(out));
            actual.put(c.name() + ".nodoc", sha256(withoutNodeDocStrings(Files.readAllBytes(out))));
            if (Files.exists(data)) actual.put(c.name() + ".data", sha256(data));
            Files.delete(out);
            Files.deleteIfExists(data);
        }
        assertTrue(actual.containsKey("external-data-weights-rtn8.data"), "the external-data case wrote no OUT.onnx.data");

        Path golden = goldenFile();
        if (Boolean.getBoolean(UPDATE_PROPERTY)) {
            StringBuilder sb = new StringBuilder();
            actual.forEach((name, hash) -> sb.append(hash).append("  ").append(name).append('\n'));
            Files.createDirectories(golden.getParent());
            Files.writeString(golden, sb.toString(), StandardCharsets.UTF_8);
            System.out.println("GoldenOutputsTest: wrote " + actual.size() + " hashes to " + golden);
            return;
        }
        assertTrue(Files.isRegularFile(golden), "no golden file " + golden + ": create it with -D" + UPDATE_PROPERTY + "=true");
        Map<String, String> expected = readGolden(golden);
        List<String> problems = new ArrayList<>();
        actual.forEach((name, hash) -> {
            String want = expected.get(name);
            if (want == null) problems.add(name + ": no golden hash (got " + hash + ")");
            else if (!want.equals(hash)) problems.add(name + ": output changed (golden " + want + ", got " + hash + ")");
        });
        for (String name : expected.keySet()) {
            if (!actual.containsKey(name)) problems.add(name + ": in the golden file but no longer produced");
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " golden output(s) differ from " + golden + " (if the change is intended, rerun with -D"
                    + UPDATE_PROPERTY + "=true):\n  " + String.join("\n  ", problems));
        }
    }

    /** The config {@code rewrite} makes of {@code args} (the options after IN OUT). */
    static StampConfig config(String... args) {
        StampOptions options = new StampOptions();
        new CommandLine(options).parseArgs(args);
        return options.toConfig();
    }

    /** One calibration of MiniLM for every calibrated case: the gptq4 config's (X^T X included). */
    private CalibrationStats calibrateMiniLm() throws IOException {
        Path text = dir.resolve("calib.txt");
        Files.writeString(text, DefaultText.get(), StandardCharsets.UTF_8);
        LoadedModel model = ModelFile.read(RealModels.miniLm());
        CalibrationStats stats = CalibrationInputs.collect(model, config("--weights", "gptq4"),
                new CalibrationInputs.Source(text, RealModels.miniLmTokenizer(), CALIB_SEQ_LEN, CALIB_SAMPLES), null);
        assertEquals(CALIB_SAMPLES, stats.samples());
        return stats;
    }

    /** A small model whose every weight is external data (LargeModelGenerator: d 64, 2 layers, about 800 KB). */
    private Path externalModel() {
        Path in = dir.resolve("external/model.onnx");
        try {
            Files.createDirectories(in.getParent());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        LargeModelGenerator.generate(in, new LargeModelGenerator.Spec(64, 2, 7));
        return in;
    }

    private Path write(String name, byte[] bytes) {
        try {
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The golden file in the source tree (surefire runs in the module folder and sets {@code basedir}). */
    static Path goldenFile() {
        return Path.of(System.getProperty("basedir", ".")).resolve(GOLDEN);
    }

    static Map<String, String> readGolden(Path golden) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(golden, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            String[] parts = line.strip().split("\\s+", 2);
            assertEquals(2, parts.length, "bad line in " + golden + ": " + line);
            assertTrue(m.put(parts[1], parts[0]) == null, "case " + parts[1] + " twice in " + golden);
        }
        return m;
    }

    /** The serialized model with the doc_string of every node (main graph and nested bodies) cleared. */
    static byte[] withoutNodeDocStrings(byte[] model) throws Exception {
        OnnxMl.ModelProto m = OnnxMl.ModelProto.parseFrom(model);
        return m.toBuilder().setGraph(withoutDocs(m.getGraph())).build().toByteArray();
    }

    private static OnnxMl.GraphProto withoutDocs(OnnxMl.GraphProto g) {
        OnnxMl.GraphProto.Builder b = g.toBuilder();
        for (int i = 0; i < b.getNodeCount(); i++) {
            OnnxMl.NodeProto.Builder n = b.getNode(i).toBuilder().clearDocString();
            for (int a = 0; a < n.getAttributeCount(); a++) {
                OnnxMl.AttributeProto.Builder attr = n.getAttribute(a).toBuilder();
                if (attr.hasG()) attr.setG(withoutDocs(attr.getG()));
                for (int j = 0; j < attr.getGraphsCount(); j++) attr.setGraphs(j, withoutDocs(attr.getGraphs(j)));
                n.setAttribute(a, attr);
            }
            b.setNode(i, n);
        }
        return b.build();
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
