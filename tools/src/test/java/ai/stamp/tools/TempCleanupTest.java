package ai.stamp.tools;

import static ai.stamp.tools.CliTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.testmodels.RealModels;
import ai.stamp.testmodels.TinyGraphs;
import ai.stamp.testmodels.WeightsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * rewrite and demo leave nothing in java.io.tmpdir (a fresh folder here) and no temporary file beside the output,
 * whether they succeed, fail or are interrupted. The extracted-model cache is pointed at its usual place, so it is
 * not re-extracted (it and DJL's native-library cache, java.io.tmpdir/stamp-onnx-djl, are reused by every run).
 */
class TempCleanupTest {
    @TempDir Path dir;
    private Path tmp;
    private String savedTmp;
    private String savedCache;

    @BeforeEach
    void freshTmpdir() throws IOException {
        savedCache = System.getProperty("stamp.models.cache");
        System.setProperty("stamp.models.cache", RealModels.cacheRoot().toString());
        savedTmp = System.getProperty("java.io.tmpdir");
        // DJL's native-library cache (a reused cache, see Djl) stays in the real temp folder whichever test runs first
        if (System.getProperty("DJL_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null) {
            System.setProperty("DJL_CACHE_DIR", Path.of(savedTmp, "stamp-onnx-djl").toString());
        }
        tmp = Files.createDirectories(dir.resolve("tmp"));
        System.setProperty("java.io.tmpdir", tmp.toString());
    }

    @AfterEach
    void restore() {
        System.setProperty("java.io.tmpdir", savedTmp);
        if (savedCache == null) System.clearProperty("stamp.models.cache");
        else System.setProperty("stamp.models.cache", savedCache);
    }

    private static List<String> list(Path folder) throws IOException {
        try (Stream<Path> s = Files.walk(folder)) {
            return s.filter(p -> !p.equals(folder)).map(p -> folder.relativize(p).toString()).sorted().toList();
        }
    }

    /** encoderBlock with every float initializer in weights.bin beside model.onnx. */
    private static Path externalModel(Path folder) throws IOException {
        Files.createDirectories(folder);
        Path p = folder.resolve("model.onnx");
        Files.write(p, WeightsFile.externalize(TinyGraphs.encoderBlock(13, 16, 5), folder).toByteArray());
        return p;
    }


    @Test
    void rewriteOfExternalDataLeavesOnlyItsOutputsOnSuccessAndNothingOnFailure() throws Exception {
        Path in = externalModel(dir.resolve("in"));
        Path out = Files.createDirectories(dir.resolve("out"));
        CliTest.Run ok = cli("--quiet", "--weights", "rtn8", in.toString(), out.resolve("m.onnx").toString(), "--report", out.resolve("m.json").toString());
        assertEquals(0, ok.code(), ok.err());
        assertEquals(List.of("m.json", "m.onnx", "m.onnx.data"), list(out));
        assertEquals(List.of(), list(tmp));

        // a failure after the quantized weights went to the scratch file: the report cannot be written
        Path failed = Files.createDirectories(dir.resolve("failed"));
        Files.writeString(failed.resolve("afile"), "x");
        CliTest.Run bad = cli("--quiet", "--weights", "rtn8", in.toString(), failed.resolve("m.onnx").toString(),
                "--report", failed.resolve("afile").resolve("m.json").toString());
        assertNotEquals(0, bad.code());
        assertEquals(List.of("afile"), list(failed), "no scratch or temporary file left beside the output");
        assertEquals(List.of(), list(tmp));

        // in-memory compiles (validate, table) put their scratch data in java.io.tmpdir and delete it
        ai.stamp.compiler.StampResult r = RewriteJob.compile(ai.stamp.compiler.io.ModelFile.read(in),
                ai.stamp.compiler.StampConfig.builder().weights(ai.stamp.compiler.StampConfig.WeightQuant.RTN8).build(), null, null);
        assertTrue(!r.scratch().isEmpty() && r.scratch().get(0).startsWith(tmp), r.scratch().toString());
        r.deleteScratch();
        assertEquals(List.of(), list(tmp));
    }

    @Test
    void theDemoDeletesItsTemporaryWorkFolderOnSuccessAndOnFailure() throws Exception {
        Path shortText = Files.writeString(dir.resolve("short.txt"), "Too short.");
        CliTest.Run bad = cli("demo", "--text", shortText.toString(), "--samples", "4", "--seq-len", "64");
        assertNotEquals(0, bad.code(), bad.out());
        assertEquals(List.of(), list(tmp), "a failed demo leaves no (empty) work folder");

        Path kept = dir.resolve("kept");
        CliTest.Run badKept = cli("demo", "--out", kept.toString(), "--text", shortText.toString(), "--samples", "4", "--seq-len", "64");
        assertNotEquals(0, badKept.code());
        assertTrue(!Files.exists(kept), "the --out folder the failed demo created is removed again, being empty");

        CliTest.Run ok = cli("demo", "--seq-len", "16", "--samples", "1");
        assertEquals(0, ok.code(), ok.err());
        assertEquals(List.of(), list(tmp), "the demo's ~260 MB work folder is deleted");
        assertTrue(ok.out().contains("Higher SQNR") && ok.out().contains("sanity check") && ok.out().contains("baseline:"), ok.out());
        assertTrue(ok.out().contains("deleted (pass --out DIR"), ok.out());
    }

    /** An interrupted demo (SIGTERM, as Ctrl-C's SIGINT, runs the shutdown hooks) leaves no work folder behind either. */
    @Test
    void anInterruptedDemoLeavesNothingBehind() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g",
                "-cp", System.getProperty("java.class.path"), "-Djava.io.tmpdir=" + tmp, "-Dstamp.models.cache=" + RealModels.cacheRoot(),
                // the two caches that are reused, not grown, stay where they are
                "-DDJL_CACHE_DIR=" + Path.of(savedTmp, "stamp-onnx-djl"),
                StampCli.class.getName(), "demo", "--seq-len", "16", "--samples", "1");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("demo.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
            // wait until the demo is writing into its work folder
            while (list(tmp).stream().noneMatch(f -> f.startsWith("stamp-onnx-demo") && f.contains("/")) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
            assertTrue(p.isAlive(), "the demo ended before it could be interrupted: " + Files.readString(dir.resolve("demo.log")));
            assertTrue(list(tmp).stream().anyMatch(f -> f.startsWith("stamp-onnx-demo")), list(tmp).toString());
            p.destroy();
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        assertEquals(List.of(), list(tmp), "after SIGTERM: " + Files.readString(dir.resolve("demo.log")));
    }
}
