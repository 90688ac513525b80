package ai.stamp.testmodels;

import ai.onnx.proto.OnnxMl;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * ONNX's own checker, {@code onnx.checker.check_model(path, full_check=True)} (the structural checks plus strict shape
 * and type inference), for the tests' outputs. Java has no ONNX checker, so one long-lived Python process with the
 * {@code onnx} package answers the requests (a few milliseconds per small model).
 *
 * <p>System property {@code stamp.onnxChecker}: {@code required} (the default: a missing Python {@code onnx} package
 * fails the check with the command that installs it), {@code auto} (skip when it is missing) or {@code off}. The
 * interpreter is {@code stamp.python} if set, else the first of {@code python3}, {@code /usr/bin/python3} and
 * {@code python} that imports {@code onnx}.
 */
public final class OnnxChecker {
    /** Metadata key every stamp-onnx output carries (the compiler's {@code StampMetadata.CONFIG}). */
    public static final String REWRITTEN_KEY = "ai.stamp.config";
    private static final Map<String, String> VERDICTS = new ConcurrentHashMap<>();
    private static Server server;
    private static String unavailable;

    private OnnxChecker() {}

    /** Whether outputs are checked in this run ({@code stamp.onnxChecker} is not {@code off}, and the checker runs unless {@code auto}). */
    public static synchronized boolean enabled() {
        String mode = mode();
        if (mode.equals("off")) return false;
        if (mode.equals("auto")) return start() == null;
        return true;
    }

    /** The checker's complaint about the model file, or empty when it passes (any model, rewritten or not). */
    public static Optional<String> problem(Path model) { return verdict("ALL", model); }

    /** As {@link #problem}, for stamp-onnx outputs only (files carrying {@value #REWRITTEN_KEY}); empty for other files. */
    public static Optional<String> problemIfRewritten(Path model) { return verdict("REWRITTEN", model); }

    /** Fails with the checker's message when {@code model} is a stamp-onnx output the checker rejects; other models pass. */
    public static void requireValidIfRewritten(OnnxMl.ModelProto model) {
        if (!enabled() || model.getMetadataPropsList().stream().noneMatch(p -> p.getKey().equals(REWRITTEN_KEY))) return;
        byte[] bytes = model.toByteArray();
        String key = sha256(bytes);
        String verdict = VERDICTS.get(key);
        if (verdict == null) {
            try {
                Path tmp = Files.createTempFile("stamp-check-", ".onnx");
                try {
                    Files.write(tmp, bytes);
                    verdict = ask("ALL", tmp);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            VERDICTS.put(key, verdict);
        }
        if (verdict.startsWith("FAIL")) throw new AssertionError("onnx.checker (full_check) rejects the rewritten model: " + verdict.substring(5));
    }

    private static Optional<String> verdict(String which, Path model) {
        if (!enabled()) return Optional.empty();
        String answer = ask(which, model.toAbsolutePath());
        return answer.startsWith("FAIL") ? Optional.of(answer.substring(5)) : Optional.empty();
    }

    private static synchronized String ask(String which, Path model) {
        String why = start();
        if (why != null) throw new AssertionError(why);
        try {
            return server.ask(which + "\t" + model);
        } catch (IOException e) {
            server = null;
            throw new UncheckedIOException("the onnx checker process failed", e);
        }
    }

    private static String mode() { return System.getProperty("stamp.onnxChecker", "required").toLowerCase(Locale.ROOT); }

    /** Starts the server once; null when it runs, else why it cannot. */
    private static synchronized String start() {
        if (server != null) return null;
        if (unavailable != null) return unavailable;
        String explicit = System.getProperty("stamp.python");
        List<String> candidates = explicit != null ? List.of(explicit) : List.of("python3", "/usr/bin/python3", "python");
        for (String python : candidates) {
            if (!importsOnnx(python)) continue;
            try {
                server = new Server(python, script());
                return null;
            } catch (IOException e) {
                unavailable = "the onnx checker did not start with " + python + ": " + e.getMessage();
                return unavailable;
            }
        }
        unavailable = "the tests run onnx.checker on every rewritten model, and no Python with the onnx package was found (tried "
                + String.join(", ", candidates) + "): install it with 'python3 -m pip install onnx', or run with"
                + " -Dstamp.onnxChecker=off (or auto) to skip the check";
        return unavailable;
    }

    private static boolean importsOnnx(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", "import onnx").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String script() throws IOException {
        try (InputStream in = OnnxChecker.class.getResourceAsStream("checker/onnx_check.py")) {
            if (in == null) throw new IOException("resource checker/onnx_check.py is missing");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The Python process: one request line in, one answer line out. */
    private static final class Server {
        private final Process process;
        private final BufferedWriter requests;
        private final BufferedReader answers;

        Server(String python, String script) throws IOException {
            process = new ProcessBuilder(python, "-u", "-c", script).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            requests = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
            answers = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String ready = answers.readLine();
            if (ready == null || !ready.startsWith("READY")) throw new IOException("it answered " + ready + " instead of READY");
            Runtime.getRuntime().addShutdownHook(new Thread(process::destroy, "onnx-checker-stop"));
        }

        String ask(String request) throws IOException {
            requests.write(request);
            requests.write('\n');
            requests.flush();
            String answer = answers.readLine();
            if (answer == null) throw new IOException("the checker process ended (exit " + (process.isAlive() ? "?" : process.exitValue()) + ")");
            return answer;
        }
    }
}
