package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import dev.langchain4j.model.embedding.onnx.OnnxEmbeddingModel;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default rewrite of MiniLM drops into LangChain4j's {@code OnnxEmbeddingModel} with the original tokenizer and no
 * code change, on the ONNX Runtime LangChain4j itself depends on (older than ours). That ONNX Runtime and ours are the
 * same classes, so they cannot share one class path: LangChain4j runs in a child JVM on this test's class path with our
 * onnxruntime jar replaced by LangChain4j's (copied to target/langchain4j-onnxruntime by the build).
 */
class LangChain4jCompatibilityTest {
    private static final String SENTENCE = "A lexer groups characters into tokens before the parser checks them against a grammar.";

    @TempDir Path dir;

    @Test
    void defaultRewriteOfMiniLmEmbedsInLangChain4jOnItsOwnOnnxRuntime() throws Exception {
        Path rewritten = dir.resolve("all-minilm-l6-v2-stamp.onnx");
        CliTest.Run rw = CliTest.cli("rewrite", RealModels.miniLm().toString(), rewritten.toString(), "-q");
        assertEquals(0, rw.code(), rw.err());

        String ortVersion = langChain4jOnnxRuntimeVersion();
        Path ortJar = Path.of("target/langchain4j-onnxruntime/onnxruntime-" + ortVersion + ".jar");
        assertTrue(Files.isRegularFile(ortJar), ortJar.toAbsolutePath() + " is missing: the build copies the ONNX Runtime "
                + "langchain4j-embeddings declares there (maven-dependency-plugin in tools/pom.xml); bump it with LangChain4j");
        List<String> cp = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.replace('\\', '/').contains("/com/microsoft/onnxruntime/")) cp.add(e);
        }
        cp.add(ortJar.toAbsolutePath().toString());
        List<String> out = child(cp, RealModels.miniLmTokenizer().toString(), SENTENCE, RealModels.miniLm().toString(), rewritten.toString());
        assertTrue(out.get(0).contains("onnxruntime-" + ortVersion + ".jar"), "child ran on " + out.get(0));
        float[] lcOriginal = vector(out.get(1));
        float[] lcRewritten = vector(out.get(2));

        float[] reference = floatEmbedding();
        assertEquals(reference.length, lcRewritten.length);
        // the harness: LangChain4j's embedding of the float model is ours (same tokens, same mean pooling)
        assertTrue(Cosine.of(reference, lcOriginal) > 0.999, "float model in LangChain4j: cosine " + Cosine.of(reference, lcOriginal));
        double cos = Cosine.of(reference, lcRewritten);
        assertTrue(cos > 0.9, "rewritten model in LangChain4j: cosine to the float embedding " + cos);
    }

    /** The onnxruntime version langchain4j-embeddings' own pom (beside its jar in the local repository) depends on. */
    private static String langChain4jOnnxRuntimeVersion() throws Exception {
        Path jar = Path.of(OnnxEmbeddingModel.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path pom = jar.resolveSibling(jar.getFileName().toString().replaceFirst("\\.jar$", ".pom"));
        String text = Files.readString(pom);
        Matcher m = Pattern.compile("<artifactId>onnxruntime</artifactId>\\s*<version>([^<]+)</version>").matcher(text);
        assertTrue(m.find(), "no onnxruntime dependency in " + pom);
        return m.group(1).strip();
    }

    /** The float model's mean-pooled embedding of SENTENCE in our ONNX Runtime, as validate computes it. */
    private static float[] floatEmbedding() {
        LoadedModel m = ModelFile.read(RealModels.miniLm());
        try (TokenWindows tw = TokenWindows.load(RealModels.miniLmTokenizer())) {
            return Retrieval.embed(m, List.of(Retrieval.sentenceSample(m, tw, SENTENCE, 512)), "last_hidden_state")[0];
        }
    }

    private List<String> child(List<String> classPath, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", String.join(File.pathSeparator, classPath), "-Dai.djl.offline=true",
                "-DDJL_CACHE_DIR=" + dir.resolve("djl-cache"), LangChain4jEmbed.class.getName()));
        cmd.addAll(List.of(args));
        Path log = dir.resolve("child.out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "LangChain4j child JVM timed out");
        String text = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "LangChain4j child JVM failed:\n" + text);
        try (Stream<String> lines = text.lines()) {
            List<String> out = lines.filter(l -> l.startsWith("onnxruntime: ") || l.matches("^-?[0-9].*")).toList();
            assertEquals(3, out.size(), text);
            return out;
        }
    }

    private static float[] vector(String line) {
        String[] parts = line.trim().split(" ");
        float[] v = new float[parts.length];
        for (int i = 0; i < v.length; i++) v[i] = Float.parseFloat(parts[i]);
        return v;
    }
}
