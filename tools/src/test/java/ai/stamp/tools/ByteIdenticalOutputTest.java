package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.testmodels.RealModels;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same input and options give the same bytes: two separate JVMs (fresh hash seeds, thread timing, class loading)
 * rewrite all-MiniLM-L6-v2 with the defaults and the stories260K decoder with --kv-bits 4, and every file they write
 * (models, external data, metadata included) has the same sha256.
 */
class ByteIdenticalOutputTest {
    @TempDir Path dir;

    /** Run in a child JVM: rewrites MiniLM and stories260K into {@code args[0]}; exits non-zero on any failure. */
    public static void main(String[] args) {
        Path out = Path.of(args[0]);
        PrintWriter o = new PrintWriter(System.out, true);
        PrintWriter e = new PrintWriter(System.err, true);
        int a = StampCli.run(o, e, "--quiet", RealModels.miniLm().toString(), out.resolve("minilm.stamp.onnx").toString());
        int b = StampCli.run(o, e, "--quiet", RealModels.stories260K().toString(), out.resolve("stories260K.kv4.onnx").toString(), "--kv-bits", "4");
        System.exit(a != 0 ? a : b);
    }

    private static Map<String, String> sha256s(Path folder) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.sorted().toList();
        }
        for (Path f : files) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (var in = Files.newInputStream(f)) {
                byte[] buf = new byte[1 << 20];
                for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            }
            out.put(f.getFileName().toString(), HexFormat.of().formatHex(md.digest()));
        }
        return out;
    }

    private void runInNewJvm(Path out) throws IOException, InterruptedException {
        Files.createDirectories(out);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g",
                "-cp", System.getProperty("java.class.path")));
        if (System.getProperty("maven.repo.local") != null) cmd.add("-Dmaven.repo.local=" + System.getProperty("maven.repo.local"));
        cmd.add("-Dstamp.models.cache=" + RealModels.cacheRoot());
        cmd.add(ByteIdenticalOutputTest.class.getName());
        cmd.add(out.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(out.getFileName() + ".log").toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "child JVM timed out");
        assertEquals(0, p.exitValue(), Files.readString(dir.resolve(out.getFileName() + ".log"), StandardCharsets.UTF_8));
    }

    @Test
    void twoRunsInTwoJvmsWriteTheSameBytes() throws Exception {
        runInNewJvm(dir.resolve("first"));
        runInNewJvm(dir.resolve("second"));
        Map<String, String> first = sha256s(dir.resolve("first"));
        assertTrue(first.containsKey("minilm.stamp.onnx") && first.containsKey("stories260K.kv4.onnx"), first.toString());
        assertEquals(first, sha256s(dir.resolve("second")));
    }
}
