package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtEnvironment;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench --quick}: the report's layout and the logic behind its figures — every promised section and row,
 * figures that parse as finite positive numbers, derived figures that agree with the figures they come from, and a
 * PASS/MISS that is what the value and the stated target say. The machine's speed is not asserted. The {@code ort}
 * section (about 13 s even with --quick on 2 cores) is left out here; its deterministic node table is checked in
 * {@code bench.NodeTableTest}. {@code large} (generates and rewrites a 0.25 GiB model in child JVMs) is left out too.
 */
class BenchCommandTest {
    @TempDir Path dir;

    record Row(String figure, String value, String target, String status) {}

    private static final Pattern NUM = Pattern.compile("-?\\d+(?:\\.\\d+)?");

    /** Section title -> rows of its "| figure | value | target | status |" table, in report order. */
    static Map<String, List<Row>> sections(String md) {
        Map<String, List<Row>> out = new LinkedHashMap<>();
        List<Row> cur = null;
        boolean inFigureTable = false;
        for (String l : md.lines().toList()) {
            if (l.startsWith("## ")) {
                cur = new ArrayList<>();
                assertTrue(out.put(l.substring(3), cur) == null, "section twice: " + l);
                inFigureTable = false;
            } else if (l.equals("| figure | value | target | status |")) {
                assertNotNull(cur, "a table outside a section");
                assertTrue(cur.isEmpty(), "one figure table per section");
                inFigureTable = true;
            } else if (inFigureTable && l.startsWith("|")) {
                if (l.equals("|---|---|---|---|")) continue;
                assertTrue(l.startsWith("| ") && l.endsWith(" |"), l);
                String[] c = l.substring(2, l.length() - 2).split(" \\| ", -1);
                assertEquals(4, c.length, "4 cells: " + l);
                cur.add(new Row(c[0], c[1], c[2], c[3]));
            } else {
                inFigureTable = false;
            }
        }
        return out;
    }

    static double num(String s) {
        double v = Double.parseDouble(s);
        assertTrue(Double.isFinite(v), s);
        return v;
    }

    static Matcher match(String regex, String s) {
        Matcher m = Pattern.compile(regex).matcher(s);
        assertTrue(m.matches(), "'" + s + "' does not match " + regex);
        return m;
    }

    private static final Pattern TARGET = Pattern.compile("(ratio )?([≤≥]) (\\d+(?:\\.\\d+)?)( s| × copy)?");

    /**
     * Status from the value and the target, recomputed: PASS/MISS rows have a target "[ratio ]≤|≥ T[ s| × copy]" and
     * PASS exactly when the figure the target is about meets it (a value that rounds to T itself may go either way).
     * INFO rows have no target; NOT CHECKED rows say why instead of a value.
     */
    static void assertVerdict(Row r) {
        switch (r.status()) {
            case "INFO" -> assertEquals("—", r.target(), r.toString());
            case "NOT CHECKED" -> assertTrue(r.value().startsWith("not ") || r.value().contains(" not found"), r.toString());
            case "PASS", "MISS" -> {
                Matcher t = TARGET.matcher(r.target());
                assertTrue(t.matches(), "target of " + r);
                String figure;
                if (" × copy".equals(t.group(4))) figure = match("(\\d+\\.\\d+) GB/s = (\\d+\\.\\d+) × copy", r.value()).group(2);
                else if (t.group(1) != null) {
                    Matcher m = Pattern.compile("ratio (\\d+\\.\\d+)").matcher(r.value());
                    assertTrue(m.find(), "no ratio in " + r);
                    figure = m.group(1);
                } else {
                    Matcher m = NUM.matcher(r.value());
                    assertTrue(m.find() && m.start() == 0, "value starts with its figure: " + r);
                    figure = m.group();
                }
                double v = num(figure), threshold = num(t.group(3));
                int decimals = figure.contains(".") ? figure.length() - figure.indexOf('.') - 1 : 0;
                double halfUlp = 0.5 * Math.pow(10, -decimals);
                boolean meets = t.group(2).equals("≤") ? v <= threshold : v >= threshold;
                if (Math.abs(v - threshold) > halfUlp + 1e-12) assertEquals(meets ? "PASS" : "MISS", r.status(), r.toString());
            }
            default -> throw new AssertionError("unknown status: " + r);
        }
    }

    static Row row(List<Row> rows, String figure) {
        return rows.stream().filter(r -> r.figure().equals(figure)).findFirst()
                .orElseThrow(() -> new AssertionError("no row '" + figure + "' in " + rows));
    }

    @Test
    void quickReportHasEveryPromisedRowAndConsistentFigures() throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        Path file = dir.resolve("bench.md");
        OffsetDateTime before = OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS);
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), "bench", "--quick", "--only", "compile,kernels,gpu",
                "--out", file.toString());
        OffsetDateTime after = OffsetDateTime.now();
        String md = out.toString();
        assertEquals(0, code, err.toString());
        assertEquals(md, Files.readString(file), "--out writes the printed report");

        // header: what the report says about the run is what this JVM is
        List<String> lines = md.lines().toList();
        assertEquals("# stamp-onnx bench (--quick: smoke run, figures indicative only)", lines.get(0));
        OffsetDateTime date = OffsetDateTime.parse(match("- date: (.+)", lines.get(2)).group(1));
        assertFalse(date.isBefore(before) || date.isAfter(after), "date " + date + " not within the run " + before + " .. " + after);
        int cores = Runtime.getRuntime().availableProcessors();
        Matcher machine = match("- machine: (\\d+) cores \\((.+)\\), (.+) (.+), max heap (\\d+) MiB", lines.get(3));
        assertEquals(cores, Integer.parseInt(machine.group(1)));
        assertEquals(System.getProperty("os.name"), machine.group(3));
        long maxHeapMib = Runtime.getRuntime().maxMemory() / (1 << 20);
        assertEquals(maxHeapMib, Long.parseLong(machine.group(5)));
        assertEquals("- JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"), lines.get(4));
        assertEquals("- ONNX Runtime (Java): " + OrtEnvironment.getEnvironment().getVersion() + "; intra-op threads " + cores
                + ", allow_spinning=0", lines.get(5));
        assertEquals("- sections: compile, kernels, gpu", lines.get(6));

        Map<String, List<Row>> secs = sections(md);
        assertEquals(List.of("(2) Compile time and memory: all-MiniLM-L6-v2", "(5) Java reference kernels (single thread)", "(6) GPU"),
                List.copyOf(secs.keySet()), "only the asked sections, in the report's order");
        for (List<Row> rows : secs.values()) {
            assertFalse(rows.isEmpty());
            rows.forEach(BenchCommandTest::assertVerdict);
        }
        kernels(secs.get("(5) Java reference kernels (single thread)"), md);
        compile(secs.get("(2) Compile time and memory: all-MiniLM-L6-v2"), maxHeapMib);
        List<Row> gpu = secs.get("(6) GPU");
        assertEquals(1, gpu.size());
        assertEquals(new Row("GPU inference overhead", gpu.get(0).value(), "—", "NOT CHECKED"), gpu.get(0));
    }

    private static void kernels(List<Row> rows, String md) {
        List<String> figures = rows.stream().map(Row::figure).toList();
        assertEquals(5, rows.size(), figures.toString());
        assertEquals("shapes", figures.get(0));
        assertEquals("System.arraycopy GB/s (read+write)", figures.get(1));
        assertEquals("HaarSequence.apply (1D, L=3, sink 1)", figures.get(2));
        Matcher grid = match("Haar2dSequence\\.apply \\(2D, L=3, sink (\\d+), grid (\\d+)x(\\d+)\\)", figures.get(3));
        assertEquals("MixedPrecisionQdq.apply (8/4 bits)", figures.get(4));

        // shapes: the 2D input is sink + grid tokens; copy size = 4 bytes × the 1D input's elements
        Matcher sh = match("1D and QDQ X\\[(\\d+),(\\d+),(\\d+)\\], 2D X\\[(\\d+),(\\d+),(\\d+)\\] \\(float32\\); copy = (\\d+\\.\\d) MB",
                rows.get(0).value());
        long m = Long.parseLong(sh.group(1)), s = Long.parseLong(sh.group(2)), d = Long.parseLong(sh.group(3));
        assertEquals(m, Long.parseLong(sh.group(4)), "same batch");
        assertEquals(d, Long.parseLong(sh.group(6)), "same features");
        assertEquals(Long.parseLong(grid.group(1)) + Long.parseLong(grid.group(2)) * Long.parseLong(grid.group(3)), Long.parseLong(sh.group(5)),
                "2D tokens = sink + grid");
        assertTrue(m * s * d < 8L * 512 * 384, "--quick runs smaller shapes than the full run's X[8,512,384]");
        assertEquals(String.format(Locale.ROOT, "%.1f", 4.0 * m * s * d / 1e6), sh.group(7), "copy MB");

        double copy = num(rows.get(1).value());
        assertTrue(copy > 0, "copy GB/s " + copy);
        for (Row r : rows.subList(2, 5)) {
            Matcher v = match("(\\d+\\.\\d{2}) GB/s = (\\d+\\.\\d{2}) × copy", r.value());
            double gbs = num(v.group(1)), ratio = num(v.group(2));
            assertTrue(gbs > 0, r.toString());
            assertEquals("≥ 0.50 × copy", r.target());
            // the ratio is the median of per-round ratios, not (median GB/s) / (median copy GB/s), so only close to it
            double q = gbs / copy;
            assertTrue(ratio >= q / 2 - 0.005 && ratio <= 2 * q + 0.005, "ratio " + ratio + " vs " + gbs + " / " + copy + " = " + q + ": " + r);
        }
        Matcher method = Pattern.compile("Method: (\\d+) interleaved rounds after (\\d+\\.\\d) s warm-up; each round times one batch per op "
                + "\\(\\[(\\d+), (\\d+), (\\d+), (\\d+)\\] calls\\)").matcher(md);
        assertTrue(method.find(), "kernel method note");
        int rounds = Integer.parseInt(method.group(1));
        assertTrue(rounds >= 1 && rounds < 25, "--quick: fewer rounds than the full run's 25, got " + rounds);
        assertTrue(num(method.group(2)) > 0 && num(method.group(2)) < 1.5, "--quick: shorter warm-up than the full run's 1.5 s");
        for (int g = 3; g <= 6; g++) assertTrue(Integer.parseInt(method.group(g)) >= 1, "calls per batch " + method.group());
    }

    /** MatMul/Gemm nodes whose second input is an initializer: what the pass rewrites, counted without the compiler. */
    private static int constantWeightMatMuls(OnnxMl.ModelProto model) {
        Set<String> inits = new HashSet<>();
        for (OnnxMl.TensorProto t : model.getGraph().getInitializerList()) inits.add(t.getName());
        int n = 0;
        for (OnnxMl.NodeProto nd : model.getGraph().getNodeList()) {
            if ((nd.getOpType().equals("MatMul") || nd.getOpType().equals("Gemm")) && inits.contains(nd.getInput(1))) n++;
        }
        return n;
    }

    private static void compile(List<Row> rows, long maxHeapMib) throws Exception {
        Path model = RealModels.miniLm();
        Matcher mr = match("(.+) \\((\\d+\\.\\d) MB\\)", row(rows, "model").value());
        assertEquals(model.getFileName().toString(), mr.group(1));
        assertEquals(String.format(Locale.ROOT, "%.1f", Files.size(model) / 1e6), mr.group(2));
        int layers = constantWeightMatMuls(ModelFile.read(model).proto());

        for (String label : new String[] {"--weights rtn8", "--weights none"}) {
            Row r = row(rows, "in-process load + rewrite + save, " + label);
            assertEquals("≤ 0.3 s", r.target());
            Matcher v = match("(\\d+\\.\\d{3}) s \\(read (\\d+\\.\\d{3}), compile (\\d+\\.\\d{3}), write (\\d+\\.\\d{3}); (\\d+) layers; "
                    + "median of (\\d+) after (\\d+) warm-up\\)", r.value());
            double total = num(v.group(1));
            assertTrue(total > 0, r.toString());
            // every run's part is at most that run's total, so each part's median is at most the total's median
            for (int g = 2; g <= 4; g++) {
                double part = num(v.group(g));
                assertTrue(part >= 0 && part <= total + 0.001, "part " + part + " > total " + total + ": " + r);
            }
            assertEquals(layers, Integer.parseInt(v.group(5)), "layers rewritten = MiniLM's constant-weight MatMuls");
            int n = Integer.parseInt(v.group(6)), warm = Integer.parseInt(v.group(7));
            assertTrue(n >= 1 && n < 9 && warm >= 1 && warm < 3, "--quick: fewer runs than the full 9 after 3: " + r);

            Row heap = row(rows, "peak heap during one run, " + label);
            double mib = num(match("(\\d+) MiB \\(sum of per-pool peaks after a GC\\)", heap.value()).group(1));
            assertTrue(mib > 0 && mib <= maxHeapMib, heap + " vs max heap " + maxHeapMib);
        }

        // the process rows: what this run can measure (from target/classes, not a jar; with or without Python onnxruntime)
        Path codeSource = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        boolean fromJar = Files.isRegularFile(codeSource) && codeSource.toString().endsWith(".jar");
        if (!fromJar) {
            Row j = row(rows, "`java -jar stamp-onnx.jar` process, --weights rtn8");
            assertEquals("NOT CHECKED", j.status());
            assertEquals("≤ quantize_dynamic", j.target());
            assertTrue(j.value().startsWith("not running from a jar"), j.toString());
        }
        if (!pythonHasOnnxRuntime()) {
            Row p = row(rows, "onnxruntime quantize_dynamic process");
            assertEquals("NOT CHECKED", p.status());
            assertTrue(p.value().contains("python3"), p.toString());
            assertEquals(5 + (fromJar ? 2 : 1) + 1, rows.size(), rows.toString());
        } else {
            assertTrue(rows.stream().anyMatch(r -> r.figure().startsWith("quantize_dynamic process detail (onnxruntime ")), rows.toString());
        }
    }

    private static boolean pythonHasOnnxRuntime() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import onnxruntime.quantization").redirectErrorStream(true).start();
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void theVerdictCheckerCatchesAWrongStatus() {
        // the checker above must be able to fail: a MISS that meets its target, a PASS that does not
        assertVerdict(new Row("x", "0.305 s (...)", "≤ 0.3 s", "MISS"));
        assertVerdict(new Row("x", "0.300 s (...)", "≤ 0.3 s", "MISS")); // rounds to the target: either way
        assertVerdict(new Row("x", "1.20 GB/s = 0.61 × copy", "≥ 0.50 × copy", "PASS"));
        assertVerdict(new Row("x", "1.053 s vs 1.063 s wall: ratio 0.97 (median of 5 interleaved rounds)", "ratio ≤ 1.00", "PASS"));
        for (Row wrong : List.of(new Row("x", "0.25 s", "≤ 0.3 s", "MISS"), new Row("x", "3.06 GB/s = 0.04 × copy", "≥ 0.50 × copy", "PASS"),
                new Row("x", "1.2 s vs 1.0 s wall: ratio 1.20 (...)", "ratio ≤ 1.00", "PASS"), new Row("x", "1.191 (baseline ...)", "≤ 1.03", "PASS"))) {
            boolean caught;
            try {
                assertVerdict(wrong);
                caught = false;
            } catch (AssertionError expected) {
                caught = true;
            }
            assertTrue(caught, "not caught: " + wrong);
        }
    }

    @Test
    void unknownSectionIsABadOption() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), "bench", "--only", "nope");
        assertEquals(2, code);
        assertTrue(err.toString().contains("unknown bench section 'nope'"), err.toString());
    }

    @Test
    void gpuSectionSaysItWasNotChecked() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), "bench", "--only", "gpu");
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("## (6) GPU") && out.toString().contains("| NOT CHECKED |"), out.toString());
        assertFalse(out.toString().contains("--quick"), "no smoke-run note without --quick");
        assertTrue(out.toString().lines().anyMatch(l -> l.equals("- sections: gpu")), out.toString());
    }
}
