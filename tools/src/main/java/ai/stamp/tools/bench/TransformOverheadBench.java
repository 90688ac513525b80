package ai.stamp.tools.bench;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.ops.HaarTransform;
import ai.stamp.ops.SequenceTransform;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.ops.StampDomain;
import ai.stamp.ops.StampOp;
import ai.stamp.testmodels.GraphBuilder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Latency of one linear layer X[1,S,D]·W[D,N] wrapped as the forward transform op → MatMul → its inverse
 * (HaarSequence / HaarSequenceInverse by default; {@code --transform dct|wht} for the others), relative to the bare MatMul, on ONNX Runtime CPU (intra-op threads 2, sequence length dynamic in the
 * graph as in real exports). Variants are timed interleaved (one run of each per round) and the
 * median over rounds is reported.
 *
 * <p>Usage: {@code TransformOverheadBench [rounds] [--transform ID (haar)] [--threads N (2)] [--no-spin] [--dump DIR] [--baseline DIR]}. {@code --dump} writes
 * the current 1D function bodies (opset 11) to DIR; {@code --baseline} adds a column timing bodies
 * previously dumped there, so an old and a new body are compared in the same interleaved run. Ratios
 * are medians of per-round ratios. On a shared 2-core machine the spinning ORT pool makes 2-thread
 * timings bimodal (bare 2.9 or 5.5 ms at random); {@code --no-spin} (allow_spinning=0) gives stable
 * numbers there, and {@code --threads 1} is the other stable choice.
 */
public final class TransformOverheadBench {
    static final int OPSET = 11;
    static final int LEVELS = 3;
    static final int[][] SHAPES = {{256, 384, 1536}, {256, 1536, 384}, {2048, 1024, 1024}};
    static final int[] SINKS = {1, 0};
    static boolean SPIN = true;
    /** The 1D sequence transform timed (an id of {@link SequenceTransforms}). */
    static String TRANSFORM = HaarTransform.ID;

    private TransformOverheadBench() {}

    public static void main(String[] args) throws Exception {
        int rounds = 60;
        int threads = 2;
        Path dump = null, baseline = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dump" -> dump = Path.of(args[++i]);
                case "--baseline" -> baseline = Path.of(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--no-spin" -> SPIN = false;
                case "--transform" -> TRANSFORM = args[++i];
                default -> rounds = Integer.parseInt(args[i]);
            }
        }
        if (dump != null) {
            Files.createDirectories(dump);
            for (int sink : SINKS) {
                for (StampOp op : ops(sink)) Files.write(dump.resolve(op.functionName() + ".pb"), op.function(OPSET).toByteArray());
            }
        }
        for (int sink : SINKS) {
            for (StampOp op : ops(sink)) {
                System.out.printf("%s@%d: %d nodes (%d Constant)%n", op.functionName(), OPSET,
                        op.function(OPSET).getNodeCount(),
                        op.function(OPSET).getNodeList().stream().filter(n -> n.getOpType().equals("Constant")).count());
            }
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        System.out.printf("%n%-18s %4s %9s %9s %8s%s%n", "S,D,N", "sink", "bare ms", "stamp ms", "ratio",
                baseline != null ? "  baseline ratio" : "");
        for (int[] sdn : SHAPES) {
            for (int sink : SINKS) {
                List<String> labels = new ArrayList<>(List.of("bare", "stamp"));
                List<byte[]> models = new ArrayList<>();
                OnnxMl.FunctionProto[] cur = {ops(sink)[0].function(OPSET), ops(sink)[1].function(OPSET)};
                models.add(model(sdn, null).toByteArray());
                models.add(model(sdn, cur).toByteArray());
                if (baseline != null) {
                    OnnxMl.FunctionProto[] base = new OnnxMl.FunctionProto[2];
                    for (int k = 0; k < 2; k++) {
                        base[k] = OnnxMl.FunctionProto.parseFrom(Files.readAllBytes(baseline.resolve(ops(sink)[k].functionName() + ".pb")));
                    }
                    labels.add("baseline");
                    models.add(model(sdn, base).toByteArray());
                }
                double[][] t = time(env, models, sdn, rounds, threads);
                System.out.printf("%-18s %4d %9.3f %9.3f %8.3f%s%n", sdn[0] + "," + sdn[1] + "," + sdn[2], sink,
                        median(t[0]), median(t[1]), medianRatio(t[1], t[0]),
                        baseline != null ? String.format("  %8.3f", medianRatio(t[2], t[0])) : "");
            }
        }
    }

    static StampOp[] ops(int sink) {
        SequenceTransform t = SequenceTransforms.of(TRANSFORM, LEVELS, sink);
        return new StampOp[] {t.forward(), t.inverse()};
    }

    /** X [1, S, D] (S symbolic) · W; with {@code fns} the MatMul is wrapped in forward / inverse. */
    static OnnxMl.ModelProto model(int[] sdn, OnnxMl.FunctionProto[] fns) {
        GraphBuilder g = new GraphBuilder(7);
        g.input("X", 1L, "S", (long) sdn[1]);
        g.output("Y", 1L, "S", (long) sdn[2]);
        String w = g.weight("W", 0.05f, sdn[1], sdn[2]);
        if (fns == null) {
            g.node("MatMul", "mm", List.of("X", w), List.of("Y"));
            return g.model(OPSET, 8);
        }
        g.node(fns[0].getName(), "fwd", List.of("X"), List.of("Z"));
        g.node("MatMul", "mm", List.of("Z", w), List.of("ZW"));
        g.node(fns[1].getName(), "inv", List.of("ZW", "X"), List.of("Y"));
        for (OnnxMl.NodeProto.Builder n : g.graph().getNodeBuilderList()) {
            if (!n.getOpType().equals("MatMul")) n.setDomain(StampDomain.NAME);
        }
        return g.model(OPSET, 8).toBuilder()
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(StampDomain.NAME).setVersion(StampDomain.VERSION))
                .addAllFunctions(Arrays.asList(fns))
                .build();
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    /**
     * Median over rounds of the per-round ratio a[r] / b[r]: the variants of one round run back to back,
     * so this cancels the load drift of a shared machine better than a ratio of medians.
     */
    static double medianRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i] / b[i];
        return median(r);
    }

    /** ms per model and round [model][round]; the models run interleaved (rotating order) after a warm-up. */
    static double[][] time(OrtEnvironment env, List<byte[]> models, int[] sdn, int rounds, int threads) throws OrtException {
        Random rnd = new Random(3);
        float[] x = new float[sdn[0] * sdn[1]];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        List<OrtSession> sessions = new ArrayList<>();
        double[][] t = new double[models.size()][rounds];
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, sdn[0], sdn[1]})) {
            for (byte[] m : models) {
                OrtSession.SessionOptions so = new OrtSession.SessionOptions();
                so.setIntraOpNumThreads(threads);
                // spinning pool threads make 2-thread timings bimodal (2.9 vs 5.5 ms) on a busy 2-core box
                if (!SPIN) so.addConfigEntry("session.intra_op.allow_spinning", "0");
                so.setInterOpNumThreads(1);
                sessions.add(env.createSession(m, so));
            }
            for (int r = -Math.max(5, rounds / 6); r < rounds; r++) {
                for (int j = 0; j < sessions.size(); j++) {
                    int k = (j + Math.floorMod(r, sessions.size())) % sessions.size();
                    long t0 = System.nanoTime();
                    try (OrtSession.Result res = sessions.get(k).run(Map.of("X", in))) {
                        if (r >= 0) t[k][r] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
        } finally {
            for (OrtSession s : sessions) s.close();
        }
        return t;
    }
}
