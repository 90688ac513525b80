package ai.stamp.tools.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The encoder half of the large-model benchmark: generates a transformer-shaped model with at least {@code gib} GiB of external
 * float weights ({@link LargeModelGenerator}), rewrites it with the CLI in a child JVM limited to {@code -Xmx}
 * (default 256m), once in stamp mode with default options and once with {@code --weights rtn8}, and runs
 * onnxruntime's {@code quantize_dynamic} (QInt8, external data) on the same file when python3 with onnxruntime is
 * there. Wall time is measured around each child process; peak RSS comes from {@code /usr/bin/time -v} when present;
 * peak heap is what the CLI prints with {@code STAMP_PEAK_HEAP=1} (sum of the heap pools' peak usage).
 *
 * <p>Usage: {@code LargeModelBench [--gb G (3)] [--xmx 256m] [--work DIR] [--keep]}. The model is generated into a
 * temporary folder (or DIR) that is deleted afterwards unless {@code --keep}.
 */
public final class LargeModelBench {
    /** How to run. {@code work}: folder for the model and outputs, null = a fresh temp folder. */
    public record Options(double gib, String xmx, Path work, boolean keep) {
        public static Options defaults() { return new Options(3, "256m", null, false); }

        /** {@code [--gb G] [--xmx 256m] [--work DIR] [--keep]} over the defaults; {@code tool} names the usage line. */
        public static Options parse(String[] args, String tool) {
            Options o = defaults();
            double gib = o.gib();
            String xmx = o.xmx();
            Path work = null;
            boolean keep = false;
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--gb" -> gib = Double.parseDouble(args[++i]);
                    case "--xmx" -> xmx = args[++i];
                    case "--work" -> work = Path.of(args[++i]);
                    case "--keep" -> keep = true;
                    default -> throw new IllegalArgumentException("unknown option " + args[i] + " (usage: " + tool + " [--gb G] [--xmx 256m] [--work DIR] [--keep])");
                }
            }
            return new Options(gib, xmx, work, keep);
        }
    }

    /**
     * One measured run. {@code note}: "ok", or why it did not run / failed. Sizes and memory in bytes; -1 = unknown.
     */
    public record Measurement(String name, boolean ran, String note, double wallSeconds, long peakHeapBytes, long peakRssBytes,
                              long outputDataBytes) {
        public String row() {
            if (!ran) return String.format(Locale.ROOT, "%-26s %s", name, note);
            return String.format(Locale.ROOT, "%-26s %8.1f s  heap %9s  RSS %9s  out.data %9s  %s", name, wallSeconds,
                    mib(peakHeapBytes), mib(peakRssBytes), mib(outputDataBytes), note);
        }
    }

    /** All figures of one benchmark run. */
    public record Result(LargeModelGenerator.Spec spec, long inputDataBytes, double generateSeconds, Measurement stamp,
                         Measurement stampRtn8, Measurement quantizeDynamic) {
        public List<Measurement> all() { return List.of(stamp, stampRtn8, quantizeDynamic); }

        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "model: d=%d, %d layers, %s external float32 weights (generated in %.1f s)%n",
                    spec.d(), spec.layers(), mib(inputDataBytes), generateSeconds));
            for (Measurement m : all()) sb.append(m.row()).append('\n');
            if (quantizeDynamic.ran() && stampRtn8.ran()) {
                sb.append(String.format(Locale.ROOT, "rtn8 vs quantize_dynamic: %.1fx faster, %.3f of its peak RSS%n",
                        quantizeDynamic.wallSeconds() / stampRtn8.wallSeconds(),
                        stampRtn8.peakRssBytes() > 0 && quantizeDynamic.peakRssBytes() > 0
                                ? stampRtn8.peakRssBytes() / (double) quantizeDynamic.peakRssBytes() : Double.NaN));
            }
            return sb.toString();
        }
    }

    private static final Path TIME = Path.of("/usr/bin/time");

    private LargeModelBench() {}

    public static void main(String[] args) {
        System.out.print(run(Options.parse(args, "LargeModelBench")).table());
    }

    /** Runs the benchmark as {@code options} say and returns the figures. */
    public static Result run(Options options) {
        try {
            Path work = options.work() != null ? Files.createDirectories(options.work()) : Files.createTempDirectory("stamp-large-bench");
            Path model = work.resolve("large.onnx");
            try {
                LargeModelGenerator.Spec spec = LargeModelGenerator.Spec.forGigabytes(options.gib(), 42);
                long t0 = System.nanoTime();
                LargeModelGenerator.Generated g = LargeModelGenerator.generate(model, spec);
                double gen = (System.nanoTime() - t0) / 1e9;
                Measurement stamp = stamp("stamp --weights none", model, work.resolve("stamp.onnx"), options.xmx(), "--weights", "none");
                Measurement rtn8 = stamp("stamp --weights rtn8", model, work.resolve("stamp-rtn8.onnx"), options.xmx(), "--weights", "rtn8");
                Measurement qd = quantizeDynamic(model, work.resolve("qdyn.onnx"));
                return new Result(spec, g.dataBytes(), gen, stamp, rtn8, qd);
            } finally {
                if (!options.keep()) deleteTree(options.work() != null ? List.of(model, model.resolveSibling("large.onnx.data"),
                        work.resolve("stamp.onnx"), work.resolve("stamp.onnx.data"), work.resolve("stamp-rtn8.onnx"),
                        work.resolve("stamp-rtn8.onnx.data"), work.resolve("qdyn.onnx"), work.resolve("qdyn.onnx.data")) : List.of(work));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The CLI in a child JVM with {@code -Xmx<xmx>}, the classpath of this JVM. */
    static Measurement stamp(String name, Path in, Path out, String xmx, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of(in.toString(), out.toString(), "-q"));
        args.addAll(List.of(extra));
        return cli(name, xmx, out, args.toArray(new String[0]));
    }

    /** A CLI command ({@code args}) in a child JVM with {@code -Xmx<xmx>}; {@code out}: the file whose .data size is reported. */
    static Measurement cli(String name, String xmx, Path out, String... args) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx" + xmx, "-cp", System.getProperty("java.class.path"), "ai.stamp.tools.StampCli"));
        cmd.addAll(List.of(args));
        return measure(name, cmd, out);
    }

    /** onnxruntime.quantization.quantize_dynamic(QInt8, external data) in python3, or why it did not run. */
    static Measurement quantizeDynamic(Path in, Path out) throws IOException {
        String name = "ORT quantize_dynamic";
        ProcessBuilder check = new ProcessBuilder("python3", "-c", "import onnxruntime.quantization").redirectErrorStream(true);
        try {
            Process p = check.start();
            p.getInputStream().readAllBytes();
            if (p.waitFor() != 0) return new Measurement(name, false, "not run: python3 has no onnxruntime (pip install onnxruntime)", -1, -1, -1, -1);
        } catch (IOException e) {
            return new Measurement(name, false, "not run: python3 missing", -1, -1, -1, -1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        String script = "import sys\nfrom onnxruntime.quantization import quantize_dynamic, QuantType\n"
                + "quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=QuantType.QInt8, use_external_data_format=True)\n";
        return measure(name, List.of("python3", "-c", script, in.toString(), out.toString()), out);
    }

    private static final Pattern HEAP = Pattern.compile("peak heap (\\d+) bytes");
    private static final Pattern RSS = Pattern.compile("Maximum resident set size \\(kbytes\\): (\\d+)");

    private static Measurement measure(String name, List<String> command, Path out) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(TIME)) cmd.addAll(List.of(TIME.toString(), "-v"));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("STAMP_PEAK_HEAP", "1");
        long t0 = System.nanoTime();
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc;
        try {
            rc = p.waitFor();
        } catch (InterruptedException e) {
            p.destroy();
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        Matcher h = HEAP.matcher(output);
        long heap = h.find() ? Long.parseLong(h.group(1)) : -1;
        Matcher r = RSS.matcher(output);
        long rss = r.find() ? Long.parseLong(r.group(1)) * 1024 : -1;
        Path data = out.resolveSibling(out.getFileName() + ".data");
        long dataBytes = Files.exists(data) ? Files.size(data) : -1;
        String note = rc == 0 ? "ok" : "FAILED (exit " + rc + "): " + output.lines().filter(l -> !l.isBlank() && !l.startsWith("\t"))
                .reduce((a, b) -> b).orElse("");
        return new Measurement(name, true, note, wall, heap, rss, dataBytes);
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1 << 20));
    }

    private static void deleteTree(List<Path> roots) {
        for (Path root : roots) {
            if (!Files.exists(root)) continue;
            try (Stream<Path> s = Files.walk(root)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // best effort
                    }
                });
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
