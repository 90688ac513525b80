package ai.stamp.tools.bench;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.RealModels;
import ai.stamp.tools.ModelInputs;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Inference overhead of the emitted graph in ONNX Runtime Java (CPU EP): a paper-scale linear layer and
 * all-MiniLM-L6-v2 at several (sequence, batch) shapes, for the original model, the matched-bit baseline
 * ({@code --mode baseline}: fake-quant only) and STaMP (both rewritten in process, weights float). As in
 * {@link TransformOverheadBench}: sessions with intra-op threads N, inter-op 1, {@code allow_spinning=0}
 * unless spinning is asked for; models run interleaved (one run each per round, rotating order) after a
 * warm-up; ratios are medians of per-round ratios.
 */
public final class OrtOverheadBench {
    private OrtOverheadBench() {}

    /** Float weights, so the models differ only in the activation path (the defaults quantize W to int8). */
    private static StampConfig.Builder floatWeights() { return StampConfig.builder().weights(StampConfig.WeightQuant.NONE); }

    public static BenchSection run(boolean quick, int threads, boolean spin) throws Exception {
        BenchSection sec = new BenchSection("(4) Inference overhead in ONNX Runtime Java (CPU)");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        paperLayer(sec, env, quick, threads, spin);
        miniLm(sec, env, quick, threads, spin);
        sec.note("Method: sessions with intra-op threads " + threads + ", inter-op 1, "
                + (spin ? "spinning pool" : "session.intra_op.allow_spinning=0") + ", graph optimization ALL; the models of one "
                + "shape run interleaved, one run each per round in rotating order, after 2 warm-up rounds; ms are medians over "
                + "rounds, ratios medians of per-round ratios. STaMP = `--mode stamp` defaults (Haar L=3, sink 1, 8/4 bits), "
                + "baseline = `--mode baseline` (same bits, no transform); weights float in both.");
        return sec;
    }

    private static void paperLayer(BenchSection sec, OrtEnvironment env, boolean quick, int threads, boolean spin) throws Exception {
        int s = paperTokens(quick), d = paperFeatures(quick), n = d;
        OnnxMl.ModelProto original = paperLayerModel(d, n);
        StampResult base = StampCompiler.compile(original, floatWeights().mode(StampConfig.Mode.BASELINE).build());
        StampResult stamp = StampCompiler.compile(original, floatWeights().build());
        Map<String, OnnxTensor> feed = paperLayerFeed(env, s, d);
        List<byte[]> models = List.of(original.toByteArray(), base.model().toByteArray(), stamp.model().toByteArray());
        double[][] t = time(env, models, feed, quick ? 3 : 9, threads, spin);
        String shape = BenchSection.fmt("X[1,%d,%d]·W[%d,%d]", s, d, d, n);
        sec.info("(a) layer " + shape + ": original / baseline / STaMP ms",
                BenchSection.fmt("%.1f / %.1f / %.1f (%d rounds)", BenchSection.median(t[0]), BenchSection.median(t[1]), BenchSection.median(t[2]), t[0].length));
        double r = medianRatio(t[2], t[1]);
        sec.check("(a) layer " + shape + ": STaMP / baseline", BenchSection.fmt("%.3f (baseline / original %.3f, STaMP / original %.3f)",
                r, medianRatio(t[1], t[0]), medianRatio(t[2], t[0])), "≤ 1.03", r <= 1.03);
        for (OnnxTensor v : feed.values()) v.close();
    }

    /** Tokens S of the paper-scale layer X[1, S, D]: 2048 (256 with --quick). */
    static int paperTokens(boolean quick) { return quick ? 256 : 2048; }

    /** Features D = N of the paper-scale layer X[1, S, D]·W[D, N]: 4096 (512 with --quick). */
    static int paperFeatures(boolean quick) { return quick ? 512 : 4096; }

    /** The paper-scale linear layer: one MatMul Y[1, S, N] = X[1, S, D]·W[D, N], W ~ N(0, 0.02²) from a fixed seed, opset 17. */
    static OnnxMl.ModelProto paperLayerModel(int d, int n) {
        GraphBuilder g = new GraphBuilder(7);
        g.input("X", 1L, "S", (long) d);
        g.output("Y", 1L, "S", (long) n);
        String w = g.weight("W", 0.02f, d, n);
        g.node("MatMul", "linear", List.of("X", w), List.of("Y"));
        return g.model(17, 8);
    }

    /** X[1, s, d] ~ N(0, 1) from a fixed seed, as input "X" of {@link #paperLayerModel}. */
    static Map<String, OnnxTensor> paperLayerFeed(OrtEnvironment env, int s, int d) throws OrtException {
        Random rnd = new Random(3);
        float[] x = new float[s * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        Map<String, OnnxTensor> feed = new HashMap<>();
        feed.put("X", OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, s, d}));
        return feed;
    }

    private static void miniLm(BenchSection sec, OrtEnvironment env, boolean quick, int threads, boolean spin) throws Exception {
        OnnxMl.ModelProto original = ModelFile.read(RealModels.miniLm()).proto();
        StampResult base = StampCompiler.compile(original, floatWeights().mode(StampConfig.Mode.BASELINE).build());
        StampResult stamp = StampCompiler.compile(original, floatWeights().build());
        // the same method with L^T on the input side where a layer does not narrow: Q, K and V then share one inverse
        StampResult auto = StampCompiler.compile(original, floatWeights().inverseAt(StampConfig.InversePlacement.AUTO).build());
        List<byte[]> models = List.of(original.toByteArray(), base.model().toByteArray(), stamp.model().toByteArray(), auto.model().toByteArray());
        int[][] shapes = quick ? new int[][] {{128, 1}} : new int[][] {{256, 1}, {256, 8}, {512, 1}, {512, 8}};
        List<ModelInputs.Declared> declared = ModelInputs.declaredInputs(original);
        StringBuilder table = new StringBuilder("| seq × batch | original ms | baseline ms | STaMP ms | STaMP inverse-at auto ms | baseline / original | STaMP / baseline | auto / baseline | rounds |\n|---|---|---|---|---|---|---|---|---|\n");
        for (int[] sb : shapes) {
            int seq = sb[0], batch = sb[1];
            Map<String, OnnxTensor> feed = tokenFeed(env, declared, seq, batch);
            // about 40 s per shape on a 2-core machine: rounds from one warm run of the original
            double single = timeOnce(env, models.get(0), feed, threads, spin);
            int rounds = quick ? 3 : (int) Math.max(7, Math.min(25, Math.round(40.0 / (3 * single))));
            double[][] t = time(env, models, feed, rounds, threads, spin);
            double sOverB = medianRatio(t[2], t[1]), bOverO = medianRatio(t[1], t[0]), aOverB = medianRatio(t[3], t[1]);
            table.append(BenchSection.fmt("| %d × %d | %.1f | %.1f | %.1f | %.1f | %.3f | %.3f | %.3f | %d |\n", seq, batch, BenchSection.median(t[0]),
                    BenchSection.median(t[1]), BenchSection.median(t[2]), BenchSection.median(t[3]), bOverO, sOverB, aOverB, rounds));
            sec.info(BenchSection.fmt("(b) MiniLM %d × %d: STaMP --inverse-at auto / baseline", seq, batch), BenchSection.fmt("%.3f", aOverB));
            String fig = BenchSection.fmt("(b) MiniLM %d × %d: STaMP / baseline", seq, batch);
            String val = BenchSection.fmt("%.3f (baseline / original %.3f)", sOverB, bOverO);
            if (seq == 512 && batch == 8) sec.check(fig, val, "≤ 1.08", sOverB <= 1.08);
            else sec.info(fig, val);
            for (OnnxTensor v : feed.values()) v.close();
        }
        sec.note("MiniLM latency (all-MiniLM-L6-v2, random token ids, attention mask all ones):\n\n" + table.toString().strip());
        sec.note(nodeTable(original, List.of(base, stamp, auto), List.of("baseline", "STaMP", "STaMP --inverse-at auto")));
    }

    /** Nodes each rewritten layer adds, counted with every model-local function call expanded to its body. */
    static String nodeTable(OnnxMl.ModelProto original, List<StampResult> results, List<String> labels) {
        StringBuilder sb = new StringBuilder("Nodes added per rewritten layer (function calls expanded to their bodies, as ORT inlines them; "
                + "Constant nodes are folded by ORT at session creation):\n\n"
                + "| model | layers | graph nodes | after inlining (Constant) | added per layer (non-Constant) | inserted functions: body nodes × uses |\n|---|---|---|---|---|---|\n");
        long[] orig = expandedCount(original);
        sb.append(BenchSection.fmt("| original | — | %d | %d (%d) | — | — |\n", original.getGraph().getNodeCount(), orig[0], orig[1]));
        for (int i = 0; i < results.size(); i++) {
            StampResult r = results.get(i);
            long[] c = expandedCount(r.model());
            int layers = Math.max(1, r.report().rewritten().size());
            Map<String, OnnxMl.FunctionProto> fns = functions(r.model());
            List<String> parts = new ArrayList<>();
            for (Map.Entry<String, Integer> e : r.report().insertedFunctions().entrySet()) {
                OnnxMl.FunctionProto f = fns.get(e.getKey());
                long body = f == null ? -1 : expand(f.getNodeList(), fns, new long[2]);
                parts.add(e.getKey() + " " + body + " × " + e.getValue());
            }
            sb.append(BenchSection.fmt("| %s | %d | %d | %d (%d) | %.1f (%.1f) | %s |\n", labels.get(i), r.report().rewritten().size(),
                    r.model().getGraph().getNodeCount(), c[0], c[1], (c[0] - orig[0]) / (double) layers,
                    ((c[0] - c[1]) - (orig[0] - orig[1])) / (double) layers, String.join("; ", parts)));
        }
        return sb.toString().strip();
    }

    private static Map<String, OnnxMl.FunctionProto> functions(OnnxMl.ModelProto m) {
        Map<String, OnnxMl.FunctionProto> fns = new HashMap<>();
        for (OnnxMl.FunctionProto f : m.getFunctionsList()) fns.put(f.getDomain() + "::" + f.getName(), f);
        for (OnnxMl.FunctionProto f : m.getFunctionsList()) fns.putIfAbsent(f.getName(), f);
        return fns;
    }

    /** {total, Constant} nodes of the main graph with local functions expanded (subgraphs not descended). */
    static long[] expandedCount(OnnxMl.ModelProto m) {
        long[] c = new long[2];
        expand(m.getGraph().getNodeList(), functions(m), c);
        return c;
    }

    private static long expand(List<OnnxMl.NodeProto> nodes, Map<String, OnnxMl.FunctionProto> fns, long[] c) {
        long total = 0;
        for (OnnxMl.NodeProto nd : nodes) {
            OnnxMl.FunctionProto f = fns.get(nd.getDomain() + "::" + nd.getOpType());
            if (f != null) {
                total += expand(f.getNodeList(), fns, c);
            } else {
                total++;
                c[0]++;
                if (nd.getOpType().equals("Constant")) c[1]++;
            }
        }
        return total;
    }

    static Map<String, OnnxTensor> tokenFeed(OrtEnvironment env, List<ModelInputs.Declared> declared, int seq, int batch) throws OrtException {
        Random rnd = new Random(11);
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        long[] shape = {batch, seq};
        for (ModelInputs.Declared d : declared) {
            long[] v = new long[batch * seq];
            String name = d.name().toLowerCase(Locale.ROOT);
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < seq; i++) {
                    long val;
                    if (name.contains("input_ids")) val = i == 0 ? 101 : i == seq - 1 ? 102 : 1000 + rnd.nextInt(20000);
                    else if (name.contains("mask")) val = 1;
                    else val = 0;
                    v[b * seq + i] = val;
                }
            }
            feed.put(d.name(), OnnxTensor.createTensor(env, LongBuffer.wrap(v), shape));
        }
        return feed;
    }

    static OrtSession.SessionOptions options(int threads, boolean spin) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(threads);
        so.setInterOpNumThreads(1);
        if (!spin) so.addConfigEntry("session.intra_op.allow_spinning", "0");
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return so;
    }

    private static double timeOnce(OrtEnvironment env, byte[] model, Map<String, OnnxTensor> feed, int threads, boolean spin) throws OrtException {
        try (OrtSession.SessionOptions so = options(threads, spin); OrtSession s = env.createSession(model, so)) {
            return timeOnce(s, feed);
        }
    }

    /** Seconds of one run of {@code s} after one warm-up run. */
    static double timeOnce(OrtSession s, Map<String, OnnxTensor> feed) throws OrtException {
        Map<String, OnnxTensor> own = feedFor(s, feed);
        s.run(own).close();
        long t0 = System.nanoTime();
        s.run(own).close();
        return (System.nanoTime() - t0) / 1e9;
    }

    /** ms per model and round [model][round]; models interleaved in rotating order after 2 warm-up rounds. */
    static double[][] time(OrtEnvironment env, List<byte[]> models, Map<String, OnnxTensor> feed, int rounds, int threads, boolean spin)
            throws OrtException {
        List<OrtSession> sessions = new ArrayList<>();
        try (OrtSession.SessionOptions so = options(threads, spin)) {
            for (byte[] m : models) sessions.add(env.createSession(m, so));
            return time(sessions, feed, rounds);
        } finally {
            for (OrtSession s : sessions) s.close();
        }
    }

    /**
     * As {@link #time(OrtEnvironment, List, Map, int, int, boolean)} on sessions the caller made (and closes); each
     * session is fed the entries of {@code feed} it declares as inputs.
     */
    static double[][] time(List<OrtSession> sessions, Map<String, OnnxTensor> feed, int rounds) throws OrtException {
        double[][] t = new double[sessions.size()][rounds];
        List<Map<String, OnnxTensor>> feeds = new ArrayList<>();
        for (OrtSession s : sessions) feeds.add(feedFor(s, feed));
        for (int r = -2; r < rounds; r++) {
            for (int j = 0; j < sessions.size(); j++) {
                int k = (j + Math.floorMod(r, sessions.size())) % sessions.size();
                long t0 = System.nanoTime();
                try (OrtSession.Result res = sessions.get(k).run(feeds.get(k))) {
                    if (r >= 0) t[k][r] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        return t;
    }

    /** The entries of {@code feed} that {@code s} takes as inputs. */
    static Map<String, OnnxTensor> feedFor(OrtSession s, Map<String, OnnxTensor> feed) throws OrtException {
        Map<String, OnnxTensor> own = new LinkedHashMap<>();
        for (Map.Entry<String, OnnxTensor> e : feed.entrySet()) {
            if (s.getInputNames().contains(e.getKey())) own.put(e.getKey(), e.getValue());
        }
        return own;
    }

    /** Nodes of type {@code opType} (default or any domain) in the main graph with local functions expanded. */
    static long opCount(OnnxMl.ModelProto m, String opType) {
        Map<String, OnnxMl.FunctionProto> fns = functions(m);
        return countOp(m.getGraph().getNodeList(), fns, opType);
    }

    private static long countOp(List<OnnxMl.NodeProto> nodes, Map<String, OnnxMl.FunctionProto> fns, String opType) {
        long n = 0;
        for (OnnxMl.NodeProto nd : nodes) {
            OnnxMl.FunctionProto f = fns.get(nd.getDomain() + "::" + nd.getOpType());
            if (f != null) n += countOp(f.getNodeList(), fns, opType);
            else if (nd.getOpType().equals(opType)) n++;
        }
        return n;
    }

    static double medianRatio(double[] a, double[] b) { return TransformOverheadBench.medianRatio(a, b); }
}
