package ai.stamp.compiler.passes.linear;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.Refusal;
import ai.stamp.ops.StampDomain;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Shared set-up of the planner and stage tests: matched layers of a model, an editor on its main graph, ORT outputs. */
final class LinearFixtures {
    private LinearFixtures() {}

    /** The matcher's verdicts on {@code model} with no --exclude. */
    static LayerMatches matches(OnnxMl.ModelProto model) { return LayerMatches.of(model, StampConfig.defaults().selection()); }

    /** The matched layer {@code name} of the main graph (fails when the matcher did not match it). */
    static LinearLayer layer(LayerMatches matches, String name) { return layer(matches, matches.graphs().get(0), name); }

    static LinearLayer layer(LayerMatches matches, Graph graph, String name) {
        return matches.layers(graph).stream().filter(l -> l.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no matched layer '" + name + "' in " + graph.path()));
    }

    static LinearLayer layer(OnnxMl.ModelProto model, String name) { return layer(matches(model), name); }

    /** Every matched layer of the main graph by node (the "accepted" map a rule hands the smoothing planner). */
    static Map<NodeProto, LinearLayer> byNode(LayerMatches matches) {
        Map<NodeProto, LinearLayer> out = new IdentityHashMap<>();
        for (LinearLayer l : matches.layers(matches.graphs().get(0))) out.put(l.node(), l);
        return out;
    }

    static Set<NodeProto> nodeSet(Map<NodeProto, LinearLayer> layers) {
        Set<NodeProto> s = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        s.addAll(layers.keySet());
        return s;
    }

    static NodeProto node(OnnxMl.ModelProto model, String name) {
        return model.getGraph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no node '" + name + "'"));
    }

    static <P> P planned(Match<P> m) {
        assertInstanceOf(Match.Planned.class, m, () -> "expected a plan, got " + m);
        return ((Match.Planned<P>) m).plan();
    }

    static Refusal refused(Match<?> m) {
        assertInstanceOf(Match.Refused.class, m, () -> "expected a refusal, got " + m);
        return ((Match.Refused<?>) m).refusal();
    }

    /** An editor on the main graph of {@code model} (the matched layers' graph view). */
    record Edit(ModelEditor model, GraphEditor graph) {
        /** The model with the edits, as a compile finishes it: functions need IR 8 and the ai.stamp import. */
        OnnxMl.ModelProto build() {
            if (!model.functions().isEmpty()) {
                model.requireIrVersion(StampDomain.MIN_IR_FOR_FUNCTIONS);
                model.importOpset(StampDomain.NAME, StampDomain.VERSION);
            }
            return model.build();
        }
    }

    static Edit edit(OnnxMl.ModelProto model, LayerMatches matches, String maker) {
        ModelEditor editor = new ModelEditor(model);
        return new Edit(editor, editor.graph(matches.graphs().get(0), maker));
    }

    static String dump(OnnxMl.ModelProto model) { return GraphDump.of(model.getGraph()); }

    /** {@code model} with float graph outputs {@code names} added (intermediate tensors, to read them in ORT). */
    static OnnxMl.ModelProto withOutputs(OnnxMl.ModelProto model, String... names) {
        OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder();
        for (String n : names) {
            g.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(n).setType(OnnxMl.TypeProto.newBuilder()
                    .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE))));
        }
        return model.toBuilder().setGraph(g).build();
    }

    static OnnxMl.TensorProto initializer(OnnxMl.GraphProto g, String name) {
        return g.getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no initializer '" + name + "'"));
    }

    static boolean hasInitializer(OnnxMl.GraphProto g, String name) {
        return g.getInitializerList().stream().anyMatch(t -> t.getName().equals(name));
    }

    static float[] floats(OnnxMl.GraphProto g, String name) { return Tensors.floats(initializer(g, name)); }

    /** a [rows, inner] times b [inner, cols], row-major, in double. */
    static float[] matmul(float[] a, int rows, int inner, float[] b, int cols) {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                double s = 0;
                for (int k = 0; k < inner; k++) s += (double) a[r * inner + k] * b[k * cols + c];
                out[r * cols + c] = (float) s;
            }
        return out;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " vs " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    /** Statistics holding only per-channel maxima (SmoothQuant), for each named tensor. */
    static CalibrationStats channelMax(Map<String, float[]> maxima) {
        Map<String, ActivationStats> by = new HashMap<>();
        maxima.forEach((t, m) -> by.put(t, new ActivationStats(t, m.length, 100, m, null, Map.of(), 0)));
        return new CalibrationStats(by, 1, 1);
    }

    /** Positive channel maxima in [0.1, 3.1) with one outlier channel, reproducible. */
    static float[] outlierMaxima(int d, long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] m = new float[d];
        for (int j = 0; j < d; j++) m[j] = 0.1f + 3 * r.nextFloat();
        m[d / 2] = 40;
        return m;
    }

    static List<String> names(List<NodeProto> nodes) { return nodes.stream().map(Graph::nameOf).toList(); }
}
