package ai.stamp.tools.bench;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import ai.stamp.tools.RewriteJob;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Compile time and memory on all-MiniLM-L6-v2: load + rewrite + save in process (after warm-up, median of N),
 * peak heap of one run, the whole {@code java -jar stamp-onnx.jar IN OUT --weights rtn8} process, and
 * onnxruntime's {@code quantize_dynamic} as a whole Python process in the same run (interleaved), when
 * {@code python3 -c "import onnxruntime.quantization"} works.
 */
public final class CompileBench {
    static final String PY_SCRIPT = String.join("\n",
            "import sys, time",
            "t0 = time.perf_counter()",
            "from onnxruntime.quantization import quantize_dynamic, QuantType",
            "t1 = time.perf_counter()",
            "quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=QuantType.QInt8)",
            "t2 = time.perf_counter()",
            "print('%.4f %.4f' % (t1 - t0, t2 - t1))");

    private CompileBench() {}

    public static BenchSection run(boolean quick, Path jarOpt, String python) throws Exception {
        BenchSection sec = new BenchSection("(2) Compile time and memory: all-MiniLM-L6-v2");
        Path model = RealModels.miniLm();
        Path tmp = Files.createTempDirectory("stamp-bench-compile");
        ai.stamp.compiler.io.TempFiles.deleteAtExit(tmp); // also on Ctrl-C
        try {
            sec.info("model", BenchSection.fmt("%s (%.1f MB)", model.getFileName(), Files.size(model) / 1e6));
            int warm = quick ? 1 : 3, n = quick ? 3 : 9;
            // RTN int8 (the default) and float weights (activations only)
            for (StampConfig cfg : List.of(StampConfig.builder().weights(StampConfig.WeightQuant.RTN8).build(),
                    StampConfig.builder().weights(StampConfig.WeightQuant.NONE).build())) {
                inProcess(sec, model, tmp, cfg, warm, n);
            }
            process(sec, model, tmp, jarOpt, python, quick ? 1 : 5);
        } finally {
            deleteTree(tmp);
        }
        return sec;
    }

    private static void inProcess(BenchSection sec, Path model, Path tmp, StampConfig cfg, int warm, int n) {
        String label = cfg.weights() == StampConfig.WeightQuant.NONE ? "--weights none" : "--weights rtn8";
        Path out = tmp.resolve("inproc.onnx");
        double[] total = new double[n], read = new double[n], compile = new double[n], write = new double[n];
        long peak = 0;
        int layers = 0;
        for (int i = -warm; i < n; i++) {
            System.gc();
            if (i == n - 1) resetPeaks();
            long t0 = System.nanoTime();
            LoadedModel lm = ModelFile.read(model);
            long t1 = System.nanoTime();
            StampResult r = RewriteJob.compile(lm, cfg, null, null);
            long t2 = System.nanoTime();
            ModelFile.write(r.model(), lm.directory(), out);
            long t3 = System.nanoTime();
            if (i == n - 1) peak = heapPeak();
            layers = r.report().rewritten().size();
            if (i >= 0) {
                total[i] = (t3 - t0) / 1e9;
                read[i] = (t1 - t0) / 1e9;
                compile[i] = (t2 - t1) / 1e9;
                write[i] = (t3 - t2) / 1e9;
            }
        }
        double med = BenchSection.median(total);
        sec.check("in-process load + rewrite + save, " + label,
                BenchSection.fmt("%.3f s (read %.3f, compile %.3f, write %.3f; %d layers; median of %d after %d warm-up)",
                        med, BenchSection.median(read), BenchSection.median(compile), BenchSection.median(write), layers, n, warm),
                "≤ 0.3 s", med <= 0.3);
        sec.info("peak heap during one run, " + label, BenchSection.fmt("%.0f MiB (sum of per-pool peaks after a GC)", peak / 1048576.0));
    }

    static void process(BenchSection sec, Path model, Path tmp, Path jarOpt, String python, int rounds) throws Exception {
        Path jar = jarOpt != null ? jarOpt : runningJar();
        List<String> javaCmd = null;
        if (jar == null) {
            sec.notChecked("`java -jar stamp-onnx.jar` process, --weights rtn8",
                    "not running from a jar (run `java -jar tools/target/stamp-onnx.jar bench`, or pass --jar)", "≤ quantize_dynamic");
        } else {
            String javaExe = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            javaCmd = List.of(javaExe, "-jar", jar.toString(), model.toString(), tmp.resolve("jar.onnx").toString(), "--weights", "rtn8", "-q");
        }
        boolean py = pythonAvailable(python);
        List<String> pyCmd = py ? List.of(python, "-c", PY_SCRIPT, model.toString(), tmp.resolve("ort_q.onnx").toString()) : null;
        if (!py) {
            sec.notChecked("onnxruntime quantize_dynamic process", "Python with onnxruntime not found (`" + python
                    + " -c \"import onnxruntime.quantization\"` failed; `pip install onnxruntime` to compare)", "—");
        }
        if (javaCmd == null && pyCmd == null) return;
        // commands timed interleaved: [0] java -jar rewrite, [1] quantize_dynamic, [2] JVM + CLI start only (--version),
        // [3] the rewrite with start-up friendly JVM flags (an option for users, not the default)
        List<List<String>> cmds = new ArrayList<>();
        cmds.add(javaCmd);
        cmds.add(pyCmd);
        if (javaCmd != null) {
            cmds.add(List.of(javaCmd.get(0), "-jar", javaCmd.get(2), "--version"));
            List<String> tuned = new ArrayList<>(List.of(javaCmd.get(0), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"));
            tuned.addAll(javaCmd.subList(1, javaCmd.size()));
            cmds.add(tuned);
        } else {
            cmds.add(null);
            cmds.add(null);
        }
        boolean time = Files.isExecutable(Path.of("/usr/bin/time"));
        double[][] t = new double[cmds.size()][rounds];
        long[] rss = new long[cmds.size()];
        double[] ratio = new double[rounds];
        String pyInner = "";
        for (int r = -1; r < rounds; r++) { // round -1 warms the file cache and Python's bytecode cache
            for (int j = 0; j < cmds.size(); j++) {
                int k = (j + Math.floorMod(r, cmds.size())) % cmds.size();
                List<String> cmd = cmds.get(k);
                if (cmd == null) continue;
                Run run = exec(cmd, time);
                if (r < 0) continue;
                t[k][r] = run.seconds;
                rss[k] = Math.max(rss[k], run.maxRssKb);
                if (k == 1) pyInner = run.stdout.strip();
            }
            if (r >= 0 && javaCmd != null && pyCmd != null) ratio[r] = t[0][r] / t[1][r];
        }
        if (javaCmd != null) {
            String rssJ = rss[0] > 0 ? BenchSection.fmt(", max RSS %.0f MiB", rss[0] / 1024.0) : "";
            if (pyCmd == null) {
                sec.info("`java -jar` process, --weights rtn8", BenchSection.fmt("%.3f s wall (median of %d%s)", BenchSection.median(t[0]), rounds, rssJ));
            } else {
                double med = BenchSection.median(ratio);
                sec.check("`java -jar` process, --weights rtn8 vs `python3` quantize_dynamic process",
                        BenchSection.fmt("%.3f s vs %.3f s wall: ratio %.2f (median of %d interleaved rounds)",
                                BenchSection.median(t[0]), BenchSection.median(t[1]), med, rounds),
                        "ratio ≤ 1.00", med <= 1.0);
            }
            sec.info("`java -jar` process detail", BenchSection.fmt("JVM + CLI start alone (`--version`) %.3f s; rewrite process%s; "
                    + "with `-XX:TieredStopAtLevel=1 -XX:+UseSerialGC` %.3f s", BenchSection.median(t[2]), rssJ, BenchSection.median(t[3])));
        }
        if (pyCmd != null) {
            String[] p = pyInner.split("\\s+");
            String inner = p.length == 2 ? BenchSection.fmt("import %s s + quantize_dynamic %s s (in-process, last run)", p[0], p[1]) : pyInner;
            sec.info("quantize_dynamic process detail (onnxruntime " + pythonOrtVersion(python) + ", QInt8)",
                    inner + (rss[1] > 0 ? BenchSection.fmt(", max RSS %.0f MiB", rss[1] / 1024.0) : ""));
        }
    }

    /** The jar this class runs from, or null when it runs from a classes folder. */
    static Path runningJar() {
        try {
            Path p = Path.of(CompileBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isRegularFile(p) && p.toString().endsWith(".jar") ? p : null;
        } catch (Exception e) {
            return null;
        }
    }

    static boolean pythonAvailable(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", "import onnxruntime.quantization").redirectErrorStream(true).start();
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static String pythonOrtVersion(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", "import onnxruntime; print(onnxruntime.__version__)").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            p.waitFor(60, TimeUnit.SECONDS);
            return v;
        } catch (IOException | InterruptedException e) {
            return "?";
        }
    }

    record Run(double seconds, long maxRssKb, String stdout) {}

    static Run exec(List<String> cmd, boolean time) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (time) full.addAll(List.of("/usr/bin/time", "-f", "STAMP_MAXRSS_KB=%M"));
        full.addAll(cmd);
        Path errFile = Files.createTempFile("stamp-bench", ".err");
        try {
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(full).redirectError(errFile.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(600, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            String err = Files.readString(errFile);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("exit " + p.exitValue() + " from " + cmd.get(0) + ": " + err.strip());
            }
            long rss = 0;
            int at = err.lastIndexOf("STAMP_MAXRSS_KB=");
            if (at >= 0) rss = Long.parseLong(err.substring(at + 16).strip().split("\\s+")[0]);
            return new Run(sec, rss, out);
        } finally {
            Files.deleteIfExists(errFile);
        }
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean b : ManagementFactory.getMemoryPoolMXBeans()) {
            if (b.getType() == MemoryType.HEAP) b.resetPeakUsage();
        }
    }

    private static long heapPeak() {
        long sum = 0;
        for (MemoryPoolMXBean b : ManagementFactory.getMemoryPoolMXBeans()) {
            if (b.getType() == MemoryType.HEAP) sum += b.getPeakUsage().getUsed();
        }
        return sum;
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp files only
        }
    }
}
