package ai.stamp.tools;

import ai.onnxruntime.OrtEnvironment;
import ai.stamp.compiler.StampException;
import ai.stamp.tools.bench.BenchSection;
import ai.stamp.tools.bench.CompileBench;
import ai.stamp.tools.bench.DeployBench;
import ai.stamp.tools.bench.KernelBench;
import ai.stamp.tools.bench.OrtOverheadBench;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code stamp-onnx bench}: every performance figure (compile, kernels, ORT overhead, deployment, large models, GPU) in one Markdown report. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Measures compile time, kernels, ONNX Runtime overhead and deployment figures; prints a Markdown report.",
        description = {
            "Measures compile time and memory, Java kernel throughput, ONNX Runtime inference overhead of the emitted",
            "graph, the deployment table of the integer form (MiniLM against float and int8 references: accuracy,",
            "latency, size), and (when built in) large-model streaming, and prints one Markdown report with every",
            "figure, its target and PASS/MISS. Timings are interleaved and reported as medians and ratios (machines",
            "are noisy).",
            "A full run takes several minutes; --quick is a short smoke run whose figures are indicative only."})
public final class BenchCommand implements Callable<Integer> {
    static final List<String> SECTIONS = List.of("compile", "kernels", "ort", "deploy", "large", "gpu");

    @Spec CommandSpec spec;

    @Option(names = "--only", split = ",", paramLabel = "SECTION",
            description = "sections to run, comma-separated: compile, kernels, ort, deploy, large, gpu (default: all)")
    List<String> only = new ArrayList<>();

    @Option(names = "--quick", description = "short smoke run: smaller shapes, fewer rounds")
    boolean quick;

    @Option(names = "--threads", paramLabel = "N", description = "ONNX Runtime intra-op threads (default: available cores)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--spin", description = "let ORT's intra-op pool spin (default off: allow_spinning=0, which gives stable timings on shared cores)")
    boolean spin;

    @Option(names = "--jar", paramLabel = "FILE", description = "stamp-onnx.jar for the whole-process compile timing of compile and deploy (default: the running jar)")
    Path jar;

    @Option(names = "--python", paramLabel = "EXE", description = "Python with onnxruntime for the quantize_dynamic comparisons of compile and deploy (default: python3)")
    String python = "python3";

    @Option(names = "--out", paramLabel = "FILE.md", description = "also write the report to FILE.md")
    Path out;

    @Override
    public Integer call() throws Exception {
        Set<String> sections = new LinkedHashSet<>();
        for (String s : only) {
            String k = s.strip().toLowerCase(Locale.ROOT);
            if (!SECTIONS.contains(k)) throw new StampException(StampException.Kind.BAD_OPTION, "unknown bench section '" + s + "'; choose from " + String.join(", ", SECTIONS));
            sections.add(k);
        }
        if (sections.isEmpty()) sections.addAll(SECTIONS);
        PrintWriter pw = spec.commandLine().getOut();
        StringBuilder md = new StringBuilder();
        md.append(header(sections));
        pw.print(md);
        pw.flush();
        for (String s : SECTIONS) {
            if (!sections.contains(s)) continue;
            String part = switch (s) {
                case "compile" -> CompileBench.run(quick, jar, python).markdown();
                case "kernels" -> KernelBench.run(quick).markdown();
                case "ort" -> OrtOverheadBench.run(quick, threads, spin).markdown();
                case "deploy" -> DeployBench.run(quick, threads, spin, jar, python).markdown();
                case "large" -> large(quick);
                case "gpu" -> gpu().markdown();
                default -> throw new IllegalStateException(s);
            };
            md.append(part);
            pw.print(part);
            pw.flush();
        }
        if (out != null) RewriteJob.writeText(out, md.toString());
        return 0;
    }

    private String header(Set<String> sections) {
        String ort;
        try {
            ort = OrtEnvironment.getEnvironment().getVersion();
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            ort = "unavailable (" + e.getMessage() + ")";
        }
        return "# stamp-onnx bench" + (quick ? " (--quick: smoke run, figures indicative only)" : "") + "\n\n"
                + "- date: " + ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME).replaceAll("\\.\\d+", "") + "\n"
                + "- machine: " + Runtime.getRuntime().availableProcessors() + " cores (" + cpuModel() + "), "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", max heap "
                + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB\n"
                + "- JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + "\n"
                + "- ONNX Runtime (Java): " + ort + "; intra-op threads " + threads + (spin ? ", spinning" : ", allow_spinning=0") + "\n"
                + "- sections: " + String.join(", ", sections) + "\n\n";
    }

    private static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).strip();
            }
        } catch (Exception ignored) {
            // not Linux
        }
        return "cpu model unknown";
    }

    /**
     * The large-model section comes from {@code ai.stamp.tools.bench.LargeModelBench} when this build has it. It is
     * looked up by name, so this command compiles with or without it: {@code static BenchSection run(boolean quick)}
     * if present, else {@code static Result run(Options)} with {@code Options.defaults()} (with {@code --quick}: the
     * same options at 0.25 GiB) and the result's {@code table()}.
     */
    static String large(boolean quick) {
        String title = "## Large models (> 2 GB, streaming)\n\n";
        Class<?> c;
        try {
            c = Class.forName("ai.stamp.tools.bench.LargeModelBench");
        } catch (ClassNotFoundException e) {
            return title + "large-model section: not available in this build\n\n";
        }
        try {
            try {
                Object r = c.getMethod("run", boolean.class).invoke(null, quick);
                return r instanceof BenchSection s ? s.markdown() : title + r + "\n\n";
            } catch (NoSuchMethodException e) {
                Class<?> opts = Class.forName(c.getName() + "$Options");
                Object o = opts.getMethod("defaults").invoke(null);
                if (quick) o = quickOptions(opts, o);
                Object r = c.getMethod("run", opts).invoke(null, o);
                String table = String.valueOf(r.getClass().getMethod("table").invoke(r)).strip();
                // the decoder half: a Llama-shaped model rewritten with --kv-bits and run by perplexity, same heap limit
                String decoder = ai.stamp.tools.bench.LargeDecoderBench.run((ai.stamp.tools.bench.LargeModelBench.Options) o).table().strip();
                return title + "Options: " + o + "\n\n```\n" + table + "\n\n" + decoder + "\n```\n\n";
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            Throwable cause = e instanceof java.lang.reflect.InvocationTargetException && e.getCause() != null ? e.getCause() : e;
            return title + "large-model section failed: " + cause + "\n\n";
        }
    }

    /** {@code Options(gib, xmx, work, keep)} with gib 0.25 when that record shape is there, else {@code o}. */
    private static Object quickOptions(Class<?> opts, Object o) throws ReflectiveOperationException {
        var comps = opts.getRecordComponents();
        if (comps == null || comps.length == 0 || comps[0].getType() != double.class) return o;
        Object[] args = new Object[comps.length];
        Class<?>[] types = new Class<?>[comps.length];
        for (int i = 0; i < comps.length; i++) {
            types[i] = comps[i].getType();
            args[i] = comps[i].getAccessor().invoke(o);
        }
        args[0] = 0.25;
        return opts.getDeclaredConstructor(types).newInstance(args);
    }

    static BenchSection gpu() {
        BenchSection s = new BenchSection("(6) GPU");
        s.notChecked("GPU inference overhead", "not checked: no GPU on this machine, and the bench uses the CPU build of ONNX Runtime Java", "—");
        return s;
    }
}
