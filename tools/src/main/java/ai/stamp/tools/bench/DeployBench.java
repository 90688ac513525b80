package ai.stamp.tools.bench;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import ai.stamp.tools.Cosine;
import ai.stamp.tools.DefaultText;
import ai.stamp.tools.ModelInputs;
import ai.stamp.tools.RewriteJob;
import ai.stamp.tools.Sqnr;
import ai.stamp.tools.StampOptions;
import ai.stamp.tools.TokenWindows;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;

/**
 * The deployer's table for all-MiniLM-L6-v2: the float original, the int8 model LangChain4j ships, onnxruntime's
 * {@code quantize_dynamic} (when Python has onnxruntime) and stamp-onnx's integer and simulation forms, each with
 * output SQNR and pooled-embedding cosine against the float model on real English text, latency against float at a
 * batch and at a single query (all rows in one interleaved run per shape), and file size. Then the paper-scale layer
 * (float, integer baseline, integer STaMP) and the whole {@code java -jar stamp-onnx.jar IN OUT --weights rtn8}
 * process ({@link CompileBench}'s timing).
 *
 * <p>The stamp-onnx rows are compiled in process from their CLI flags (parsed by the CLI's own {@link StampOptions},
 * compiled by {@link RewriteJob#compile}, written by {@link ModelFile#write}), so each row is the file that command
 * writes. SQNR and cosine are computed as {@code validate} computes them ({@link Sqnr} summed over all windows;
 * {@link Cosine} of the attention-mask mean-pooled embedding, averaged over windows), on the same windows of the
 * built-in text ({@link DefaultText}, cut by {@link TokenWindows} with MiniLM's tokenizer) for every row. Latency
 * uses {@link OrtOverheadBench}'s sessions ({@code options}), random token ids ({@code tokenFeed}) and interleaved
 * timing ({@code time}); ratios are medians of per-round ratios.
 */
public final class DeployBench {
    static final String TITLE = "(7) Deployment: integer form on all-MiniLM-L6-v2 and the paper-scale layer";

    /** A stamp-onnx row: its label and the flags after {@code IN.onnx OUT.onnx}. */
    record Variant(String key, String label, String flags) {
        StampConfig config() {
            return CommandLine.populateCommand(new StampOptions(), flags.split(" ")).toConfig();
        }
    }

    static final Variant W8A8 = new Variant("w8a8", "stamp-onnx integer W8A8", "--mode baseline --lo-bits 8 --weights rtn8");
    static final Variant STAMP = new Variant("stamp", "stamp-onnx integer STaMP", "--weights rtn8");
    static final Variant BASELINE = new Variant("baseline", "stamp-onnx integer baseline", "--mode baseline --weights rtn8");
    static final Variant SIM_W8 = new Variant("sim-w8", "stamp-onnx simulated STaMP, int8 weights", "--weights rtn8 --emit simulate");
    static final Variant SIM_FLOAT = new Variant("sim-float", "stamp-onnx simulated STaMP, float weights", "--weights none");
    static final Variant STAMP_EMBEDDINGS = new Variant("stamp-embeddings", "stamp-onnx integer STaMP, int8 embeddings",
            "--weights rtn8 --quantize-embeddings");
    static final List<Variant> VARIANTS = List.of(W8A8, STAMP, BASELINE, SIM_W8, SIM_FLOAT, STAMP_EMBEDDINGS);

    static final String FLOAT_LABEL = "float (original)";
    static final String LC4J_LABEL = "LangChain4j int8 (all-minilm-l6-v2-q)";
    static final String QD_LABEL = "ORT quantize_dynamic (QInt8)";

    /** Targets of the issue. */
    static final double W8A8_LATENCY = 0.60, W8A8_STRETCH = 0.45, W8A8_SQNR_DB = 22, STAMP_LATENCY = 0.75, STAMP_OVER_BASELINE = 1.15,
            STAMP_SQNR_GAIN_DB = 1, PAPER_STAMP_LATENCY = 0.60, SIZE_WITH_EMBEDDINGS = 0.30;

    private DeployBench() {}

    /** One row of the table: where its model is (null when it could not be made here, with the reason). */
    private static final class Row {
        final String label, command;
        final Path file;
        final String missing;
        long integerGemms, bytes;
        OrtSession session;
        final Sqnr sqnr = new Sqnr();
        double cosSum;
        int cosCount;
        final List<double[]> ms = new ArrayList<>();
        final List<Double> ratio = new ArrayList<>();

        Row(String label, String command, Path file, String missing) {
            this.label = label;
            this.command = command;
            this.file = file;
            this.missing = missing;
        }

        double cosine() { return cosCount == 0 ? Double.NaN : cosSum / cosCount; }
    }

    public static BenchSection run(boolean quick, int threads, boolean spin, Path jar, String python) throws Exception {
        BenchSection sec = new BenchSection(TITLE);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Path tmp = Files.createTempDirectory("stamp-bench-deploy");
        ai.stamp.compiler.io.TempFiles.deleteAtExit(tmp); // also on Ctrl-C
        try {
            miniLm(sec, env, quick, threads, spin, python, tmp);
            paperLayer(sec, env, quick, threads, spin);
            // the whole default command as a process (and quantize_dynamic beside it when Python has onnxruntime)
            CompileBench.process(sec, RealModels.miniLm(), tmp, jar, python, quick ? 1 : 5);
        } finally {
            CompileBench.deleteTree(tmp);
        }
        sec.note("Method: ONNX Runtime Java (CPU EP) sessions with intra-op threads " + threads + ", inter-op 1, "
                + (spin ? "spinning pool" : "session.intra_op.allow_spinning=0") + ", graph optimization ALL, loaded from the files "
                + "the rows' commands write. Accuracy: output `last_hidden_state` against the float model on the same windows of the "
                + "built-in English text for every row; SQNR summed over all windows, cosine of the attention-mask mean-pooled embedding "
                + "averaged over windows (as `validate` computes them). Latency: random token ids, attention mask all ones; all rows of "
                + "one shape run interleaved (one run each per round, rotating order) after 2 warm-up rounds; ms are medians over rounds, "
                + "ratios medians of per-round ratios. Integer GEMMs = MatMulInteger / MatMulIntegerToFloat nodes with model-local functions expanded. "
                + "Size = the .onnx file plus its external data (none here).");
        return sec;
    }

    private static void miniLm(BenchSection sec, OrtEnvironment env, boolean quick, int threads, boolean spin, String python, Path tmp)
            throws Exception {
        Path floatPath = RealModels.miniLm();
        LoadedModel original = ModelFile.read(floatPath);
        List<Row> rows = new ArrayList<>();
        rows.add(new Row(FLOAT_LABEL, "`" + floatPath.getFileName() + "`", floatPath, null));
        rows.add(new Row(LC4J_LABEL, "`" + RealModels.MINILM_Q_ARTIFACT.coordinates() + "`", RealModels.miniLmQuantized(), null));
        String qdCommand = "`quantize_dynamic(in, out, weight_type=QuantType.QInt8)`";
        String qdMissing = null;
        if (CompileBench.pythonAvailable(python)) {
            Path out = Files.createDirectories(tmp.resolve("quantize-dynamic")).resolve("model.onnx");
            CompileBench.exec(List.of(python, "-c", CompileBench.PY_SCRIPT, floatPath.toString(), out.toString()), false);
            rows.add(new Row(QD_LABEL, qdCommand, out, null));
        } else {
            qdMissing = "not measured: no Python onnxruntime (`" + python + " -c \"import onnxruntime.quantization\"` failed)";
            rows.add(new Row(QD_LABEL, qdCommand, null, qdMissing));
        }
        Map<Variant, Row> byVariant = new LinkedHashMap<>();
        for (Variant v : VARIANTS) {
            StampResult r = RewriteJob.compile(original, v.config(), null, null);
            Path out = Files.createDirectories(tmp.resolve(v.key())).resolve("model.onnx");
            ModelFile.write(r, original.directory(), out);
            Row row = new Row(v.label(), "`" + v.flags() + "`", out, null);
            row.integerGemms = integerGemms(r.model());
            row.bytes = fileBytes(out, r.model());
            rows.add(row);
            byVariant.put(v, row);
        }
        for (Row r : rows) { // the rows not compiled here: float, LangChain4j's, quantize_dynamic's
            if (r.file == null || byVariant.containsValue(r)) continue;
            OnnxMl.ModelProto p = r.file.equals(floatPath) ? original.proto() : ModelFile.read(r.file).proto();
            r.integerGemms = integerGemms(p);
            r.bytes = fileBytes(r.file, p);
        }

        int accSeq = quick ? 64 : 256, accWindows = quick ? 2 : 8;
        int[][] shapes = quick ? new int[][] {{2, 64}, {1, 32}} : new int[][] {{8, 256}, {1, 128}}; // {batch, tokens}
        List<Row> live = rows.stream().filter(r -> r.file != null).toList();
        int[] rounds = new int[shapes.length];
        try (OrtSession.SessionOptions so = OrtOverheadBench.options(threads, spin)) {
            try {
                for (Row r : live) r.session = env.createSession(r.file.toString(), so);
                accuracy(env, original.proto(), live, accSeq, accWindows);
                List<ModelInputs.Declared> declared = ModelInputs.declaredInputs(original.proto());
                List<OrtSession> sessions = live.stream().map(r -> r.session).toList();
                for (int i = 0; i < shapes.length; i++) {
                    int batch = shapes[i][0], seq = shapes[i][1];
                    Map<String, OnnxTensor> feed = OrtOverheadBench.tokenFeed(env, declared, seq, batch);
                    try {
                        // about a minute per shape on a 2-core machine: rounds from one warm run of the float model
                        double single = OrtOverheadBench.timeOnce(live.get(0).session, feed);
                        rounds[i] = quick ? 2 : (int) Math.max(9, Math.min(batch * seq >= 1024 ? 25 : 101,
                                Math.round(60.0 / (live.size() * single))));
                        double[][] t = OrtOverheadBench.time(sessions, feed, rounds[i]);
                        for (int k = 0; k < live.size(); k++) {
                            live.get(k).ms.add(t[k]);
                            live.get(k).ratio.add(OrtOverheadBench.medianRatio(t[k], t[0]));
                        }
                    } finally {
                        for (OnnxTensor v : feed.values()) v.close();
                    }
                }
            } finally {
                for (Row r : live) if (r.session != null) r.session.close();
            }
        }

        sec.info("rows and inputs", BenchSection.fmt("%d rows; accuracy on %d windows × %d tokens of the built-in English text (the same "
                + "windows for every row), latency on random token ids at %s (batch × tokens)", rows.size(), accWindows, accSeq, shapeList(shapes)));
        if (qdMissing != null) sec.notChecked(QD_LABEL + " row", qdMissing, "—");
        Row w8a8 = byVariant.get(W8A8), stamp = byVariant.get(STAMP), base = byVariant.get(BASELINE);
        double w8Sqnr = w8a8.sqnr.db();
        sec.check("integer W8A8: output SQNR", BenchSection.fmt("%.2f dB (pooled cosine %.5f)", w8Sqnr, w8a8.cosine()),
                BenchSection.fmt("≥ %.0f dB", W8A8_SQNR_DB), w8Sqnr >= W8A8_SQNR_DB);
        double gain = stamp.sqnr.db() - base.sqnr.db();
        sec.check("integer STaMP: output SQNR − integer baseline's", BenchSection.fmt("%.2f dB (STaMP %.2f dB, baseline %.2f dB)",
                gain, stamp.sqnr.db(), base.sqnr.db()), BenchSection.fmt("≥ %.0f dB", STAMP_SQNR_GAIN_DB), gain >= STAMP_SQNR_GAIN_DB);
        Row small = byVariant.get(STAMP_EMBEDDINGS), floatRow = rows.get(0);
        double sizeRatio = (double) small.bytes / floatRow.bytes;
        sec.check("integer STaMP with --quantize-embeddings: file size / float", BenchSection.fmt("%.3f (%.1f MB of %.1f MB)", sizeRatio,
                small.bytes / 1e6, floatRow.bytes / 1e6), target(SIZE_WITH_EMBEDDINGS), sizeRatio <= SIZE_WITH_EMBEDDINGS);
        double cosGain = stamp.cosine() - base.cosine();
        sec.check("integer STaMP: pooled cosine − integer baseline's", BenchSection.fmt("%.5f (STaMP %.5f, baseline %.5f)",
                cosGain, stamp.cosine(), base.cosine()), "> 0", cosGain > 0);
        for (int i = 0; i < shapes.length; i++) {
            String shape = shapes[i][0] + " × " + shapes[i][1];
            String of = BenchSection.fmt("median of %d interleaved rounds", rounds[i]);
            double w = w8a8.ratio.get(i), s = stamp.ratio.get(i);
            double sOverB = OrtOverheadBench.medianRatio(stamp.ms.get(i), base.ms.get(i));
            sec.check("integer W8A8: latency " + shape + " / float", BenchSection.fmt("%.3f (", w) + of + ")", target(W8A8_LATENCY), w <= W8A8_LATENCY);
            sec.check("integer W8A8 (stretch): latency " + shape + " / float", BenchSection.fmt("%.3f (", w) + of + ")", target(W8A8_STRETCH),
                    w <= W8A8_STRETCH);
            sec.check("integer STaMP: latency " + shape + " / float", BenchSection.fmt("%.3f (", s) + of + ")", target(STAMP_LATENCY), s <= STAMP_LATENCY);
            sec.check("integer STaMP: latency " + shape + " / integer baseline", BenchSection.fmt("%.3f (integer baseline / float %.3f; ",
                    sOverB, base.ratio.get(i)) + of + ")", target(STAMP_OVER_BASELINE), sOverB <= STAMP_OVER_BASELINE);
        }
        sec.note(table(rows, shapes));
    }

    private static String target(double t) { return BenchSection.fmt("≤ %.2f", t); }

    /** Integer GEMMs with the functions expanded: MatMulInteger, or ONNX Runtime's MatMulIntegerToFloat. */
    private static long integerGemms(OnnxMl.ModelProto m) {
        return OrtOverheadBench.opCount(m, "MatMulInteger") + OrtOverheadBench.opCount(m, "MatMulIntegerToFloat");
    }

    private static String shapeList(int[][] shapes) {
        List<String> s = new ArrayList<>();
        for (int[] sh : shapes) s.add(sh[0] + " × " + sh[1]);
        return String.join(" and ", s);
    }

    /** The deployer's table. */
    private static String table(List<Row> rows, int[][] shapes) {
        StringBuilder sb = new StringBuilder("The deployer's table (all-MiniLM-L6-v2; accuracy against the float model; latency columns "
                + "batch × tokens):\n\n| model | command | integer GEMMs | output SQNR (dB) | pooled cosine |");
        StringBuilder sep = new StringBuilder("|---|---|---|---|---|");
        for (int[] sh : shapes) {
            String s = sh[0] + " × " + sh[1];
            sb.append(' ').append(s).append(" ms | ").append(s).append(" / float |");
            sep.append("---|---|");
        }
        sb.append(" size (MB) |\n").append(sep).append("---|\n");
        for (Row r : rows) {
            sb.append("| ").append(r.label).append(" | ").append(r.command).append(" | ");
            if (r.file == null) {
                sb.append(r.missing).append(" |");
                sb.append(" — |".repeat(3 + 2 * shapes.length));
            } else {
                boolean reference = r == rows.get(0);
                sb.append(r.integerGemms).append(" | ")
                        .append(reference ? "reference" : BenchSection.fmt("%.2f", r.sqnr.db())).append(" | ")
                        .append(reference ? "reference" : BenchSection.fmt("%.5f", r.cosine())).append(" |");
                for (int i = 0; i < shapes.length; i++) {
                    sb.append(BenchSection.fmt(" %.1f | %.3f |", BenchSection.median(r.ms.get(i)), r.ratio.get(i)));
                }
                sb.append(BenchSection.fmt(" %.1f |", r.bytes / 1e6));
            }
            sb.append('\n');
        }
        return sb.toString().strip();
    }

    /** Output SQNR and pooled cosine of every row after the first against the first, on the same text windows. */
    private static void accuracy(OrtEnvironment env, OnnxMl.ModelProto original, List<Row> rows, int seq, int count) throws OrtException {
        List<long[]> windows;
        try (TokenWindows tw = TokenWindows.load(RealModels.miniLmTokenizer())) {
            windows = tw.windows(DefaultText.get(), seq, count);
        }
        List<ModelInputs.Sample> samples = ModelInputs.fromWindows(original, windows);
        String output = original.getGraph().getOutput(0).getName();
        for (ModelInputs.Sample sample : samples) {
            long[][] shape = new long[1][];
            float[] ref = run(env, rows.get(0).session, sample, output, shape);
            float[][] pooledRef = Cosine.meanPool(ref, shape[0], sample.attentionMask());
            for (Row r : rows.subList(1, rows.size())) {
                float[] y = run(env, r.session, sample, output, new long[1][]);
                r.sqnr.add(ref, y);
                float[][] pooled = Cosine.meanPool(y, shape[0], sample.attentionMask());
                for (int b = 0; b < pooled.length; b++) {
                    r.cosSum += Cosine.of(pooledRef[b], pooled[b]);
                    r.cosCount++;
                }
            }
        }
    }

    private static float[] run(OrtEnvironment env, OrtSession s, ModelInputs.Sample sample, String output, long[][] shape) throws OrtException {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, ModelInputs.Input> e : sample.inputs().entrySet()) {
                if (s.getInputNames().contains(e.getKey())) feeds.put(e.getKey(), e.getValue().toTensor(env));
            }
            try (OrtSession.Result res = s.run(feeds, Set.of(output))) {
                OnnxValue v = res.get(output).orElseThrow(() -> new IllegalStateException("no output " + output));
                OnnxTensor t = (OnnxTensor) v;
                shape[0] = t.getInfo().getShape();
                FloatBuffer fb = t.getFloatBuffer();
                float[] f = new float[fb.remaining()];
                fb.get(f);
                return f;
            }
        } finally {
            for (OnnxTensor t : feeds.values()) t.close();
        }
    }

    /** The file's size plus the external data files its main-graph initializers name. */
    static long fileBytes(Path onnx, OnnxMl.ModelProto proto) throws java.io.IOException {
        long n = Files.size(onnx);
        Set<String> locations = new LinkedHashSet<>();
        for (OnnxMl.TensorProto t : proto.getGraph().getInitializerList()) {
            if (t.getDataLocation() != OnnxMl.TensorProto.DataLocation.EXTERNAL) continue;
            for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) if (e.getKey().equals("location")) locations.add(e.getValue());
        }
        Path dir = onnx.toAbsolutePath().getParent();
        for (String l : locations) {
            Path p = dir.resolve(l);
            if (Files.isRegularFile(p)) n += Files.size(p);
        }
        return n;
    }

    /** The paper-scale layer: float, integer baseline and integer STaMP, interleaved, ratios against float. */
    private static void paperLayer(BenchSection sec, OrtEnvironment env, boolean quick, int threads, boolean spin) throws Exception {
        int s = OrtOverheadBench.paperTokens(quick), d = OrtOverheadBench.paperFeatures(quick);
        OnnxMl.ModelProto original = OrtOverheadBench.paperLayerModel(d, d);
        OnnxMl.ModelProto base = StampCompiler.compile(original, BASELINE.config()).model();
        OnnxMl.ModelProto stamp = StampCompiler.compile(original, STAMP.config()).model();
        Map<String, OnnxTensor> feed = OrtOverheadBench.paperLayerFeed(env, s, d);
        double[][] t;
        try {
            t = OrtOverheadBench.time(env, List.of(original.toByteArray(), base.toByteArray(), stamp.toByteArray()), feed,
                    quick ? 2 : 9, threads, spin);
        } finally {
            for (OnnxTensor v : feed.values()) v.close();
        }
        String shape = BenchSection.fmt("X[1,%d,%d]·W[%d,%d]", s, d, d, d);
        sec.info("(paper) layer " + shape + ": float / integer baseline / integer STaMP ms",
                BenchSection.fmt("%.1f / %.1f / %.1f (%d rounds; integer GEMMs %d / %d / %d)", BenchSection.median(t[0]),
                        BenchSection.median(t[1]), BenchSection.median(t[2]), t[0].length, integerGemms(original),
                        integerGemms(base), integerGemms(stamp)));
        double r = OrtOverheadBench.medianRatio(t[2], t[0]);
        sec.check("(paper) layer " + shape + ": integer STaMP / float", BenchSection.fmt("%.3f (integer baseline / float %.3f, "
                + "integer STaMP / integer baseline %.3f)", r, OrtOverheadBench.medianRatio(t[1], t[0]), OrtOverheadBench.medianRatio(t[2], t[1])),
                target(PAPER_STAMP_LATENCY), r <= PAPER_STAMP_LATENCY);
    }
}
