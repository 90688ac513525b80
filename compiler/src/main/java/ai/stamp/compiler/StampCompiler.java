package ai.stamp.compiler;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.calibration.Calibrator;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.compiler.passes.dequantize.QuantizedWeights;
import ai.stamp.compiler.passes.dequantize.WeightDequantizer;
import ai.stamp.compiler.passes.linear.LayerPlan;
import ai.stamp.compiler.passes.linear.LinearLayer;
import ai.stamp.compiler.passes.linear.LinearLayerMatcher;
import ai.stamp.compiler.passes.linear.MatchResult;
import ai.stamp.compiler.passes.linear.Planner;
import ai.stamp.compiler.passes.linear.StampRule;
import ai.stamp.compiler.passes.linear.TokenGridInference;
import ai.stamp.compiler.rewrite.FunctionRegistry;
import ai.stamp.compiler.rewrite.Rewriter;
import ai.stamp.ops.StampDomain;
import com.google.gson.Gson;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The public entry point: rewrites every linear layer of a model with STaMP as {@code config} says.
 * <pre>{@code
 * LoadedModel in = ModelFile.read(Path.of("model.onnx"));
 * StampResult r = StampCompiler.compile(in.proto(), StampConfig.defaults());
 * ModelFile.write(r.model(), in.directory(), Path.of("model.stamp.onnx"));
 * System.out.println(r.report().toJson());
 * }</pre>
 * The input proto is not modified. Nested If/Loop/Scan bodies are rewritten too. The model keeps its
 * default opset; its IR version is raised to 8 only when functions were added (they need it).
 */
public final class StampCompiler {
    private StampCompiler() {}

    public static StampResult compile(OnnxMl.ModelProto model, StampConfig config) {
        return compile(model, config, CalibrationStats.NONE);
    }

    /**
     * As {@link #compile(OnnxMl.ModelProto, StampConfig)}, with calibration statistics of the original model
     * (from {@code ai.stamp.compiler.calibration.Calibrator}) for GPTQ, SmoothQuant and energy allocation.
     */
    public static StampResult compile(OnnxMl.ModelProto model, StampConfig config, CalibrationStats stats) {
        return compile(model, config, stats, ExternalWeights.NONE);
    }

    /**
     * As {@link #compile(OnnxMl.ModelProto, StampConfig, CalibrationStats)}, quantizing (RTN) weights stored as external
     * data too: their bytes are read range by range from the files beside the model ({@code sourceDirectory}), and the
     * quantized values go to a scratch data file in {@code java.io.tmpdir} that {@link ModelFile#write(StampResult, Path, Path)}
     * copies into the output and deletes. Without a source folder external weights are left as they are.
     */
    public static StampResult compile(OnnxMl.ModelProto model, StampConfig config, CalibrationStats stats, java.nio.file.Path sourceDirectory) {
        return compile(model, config, stats, ExternalWeights.of(sourceDirectory));
    }

    /** As above, with the external-data context (source folder and scratch folder) given explicitly. */
    public static StampResult compile(OnnxMl.ModelProto model, StampConfig config, CalibrationStats stats, ExternalWeights external) {
        try {
            StampResult r = compileWith(model, config, stats, external);
            return new StampResult(r.model(), r.report(), external.finish());
        } catch (RuntimeException | Error e) {
            external.discard();
            throw e;
        }
    }

    private static StampResult compileWith(OnnxMl.ModelProto model, StampConfig config, CalibrationStats stats, ExternalWeights external) {
        if (config.needsCalibration() && stats.isEmpty()) {
            throw new StampException(StampException.Kind.BAD_OPTION, "GPTQ, --smooth and --allocate energy need calibration data: add --calib FILE|DIR");
        }
        OpsetCheck.requireSupported(model, "the model");
        Rewriter rewriter = new Rewriter(model);
        Run run = new Run(rewriter, new LinearLayerMatcher(config.exclude()), new Planner(config, stats), config, OpsetCheck.defaultOpset(model), stats, external);
        OnnxMl.GraphProto graph = run.rewrite(new Graph(model.getGraph()));

        OnnxMl.ModelProto.Builder out = model.toBuilder().setGraph(graph);
        FunctionRegistry functions = rewriter.functions();
        if (!functions.isEmpty()) {
            out.setIrVersion(Math.max(model.getIrVersion(), StampDomain.MIN_IR_FOR_FUNCTIONS));
            out.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(StampDomain.NAME).setVersion(StampDomain.VERSION));
            for (OnnxMl.FunctionProto f : functions.functions()) out.addFunctions(f);
        }
        if (!run.rewritten.isEmpty()) {
            List<Map<String, String>> layers = new ArrayList<>();
            for (StampReport.Layer l : run.rewritten) layers.add(Map.of("name", l.name(), "output", l.output()));
            putMetadata(out, StampMetadata.LAYERS, new Gson().toJson(layers));
            putMetadata(out, StampMetadata.CONFIG, config.toString());
        }
        StampReport report = new StampReport(config.toString(), functions.opset(), List.copyOf(run.rewritten),
                List.copyOf(run.skipped), new LinkedHashMap<>(functions.uses()));
        return new StampResult(out.build(), report);
    }

    private static void putMetadata(OnnxMl.ModelProto.Builder b, String key, String value) {
        for (int i = 0; i < b.getMetadataPropsCount(); i++) {
            if (b.getMetadataProps(i).getKey().equals(key)) {
                b.setMetadataProps(i, b.getMetadataProps(i).toBuilder().setValue(value));
                return;
            }
        }
        b.addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey(key).setValue(value));
    }

    /** One pass over a model: matches, plans and emits graph by graph, collecting the report. */
    private static final class Run {
        final Rewriter rewriter;
        final LinearLayerMatcher matcher;
        final Planner planner;
        final StampConfig config;
        final int opset;
        final CalibrationStats stats;
        final ExternalWeights external;
        final List<StampReport.Layer> rewritten = new ArrayList<>();
        final List<StampReport.Skipped> skipped = new ArrayList<>();

        Run(Rewriter rewriter, LinearLayerMatcher matcher, Planner planner, StampConfig config, int opset, CalibrationStats stats, ExternalWeights external) {
            this.external = external;
            this.opset = opset;
            this.stats = stats;
            this.rewriter = rewriter;
            this.matcher = matcher;
            this.planner = planner;
            this.config = config;
        }

        OnnxMl.GraphProto rewrite(Graph graph) {
            if (config.dequantizeWeights()) {
                try {
                    graph = new WeightDequantizer(rewriter, config.exclude()).apply(graph);
                } catch (IndexOutOfBoundsException e) {
                    throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "--dequantize-weights: a node of graph " + graph.path()
                            + " is malformed (" + e.getMessage() + "); check the model with onnx.checker.check_model", e);
                }
            }
            Map<String, TokenGridInference.TokenGrid> grids = config.transform() == StampConfig.TransformKind.HAAR2D && config.grid().isEmpty()
                    ? TokenGridInference.infer(graph) : Map.of();
            Rewriter.GraphEdit edit = rewriter.edit(graph.proto(), StampRule.NAME);
            StampRule rule = new StampRule(rewriter, edit, config, opset, stats, external);
            List<NodeProto> nodes = graph.nodes();
            for (int i = 0; i < nodes.size(); i++) {
                NodeProto node = nodes.get(i);
                try {
                    rewriteNode(graph, node, i, edit, rule, grids);
                } catch (IndexOutOfBoundsException e) {
                    // a node with fewer inputs/outputs/attribute values than its op has: the graph is malformed
                    throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "node '" + Graph.nameOf(node) + "' (" + node.getOpType()
                            + ") in graph " + graph.path() + " or one next to it is malformed (" + e.getMessage()
                            + "); check the model with onnx.checker.check_model", e);
                }
            }
            return edit.apply();
        }

        private void rewriteNode(Graph graph, NodeProto node, int i, Rewriter.GraphEdit edit, StampRule rule,
                                 Map<String, TokenGridInference.TokenGrid> grids) {
            {
                List<Graph> bodies = graph.subgraphs(node);
                if (!bodies.isEmpty()) {
                    NodeProto rewrittenNode = rewriteBodies(node, bodies);
                    if (rewrittenNode != node) edit.replaceNested(i, rewrittenNode);
                    return;
                }
                if (!LinearLayerMatcher.isCandidate(node)) {
                    if (QuantizedWeights.isIntegerMatMul(node)) {
                        skipped.add(new StampReport.Skipped(Graph.nameOf(node), node.getOpType(), graph.path(),
                                QuantizedWeights.integerMatMulReason(node, config.dequantizeWeights())));
                    }
                    return;
                }
                MatchResult m = matcher.match(graph, node);
                if (m instanceof MatchResult.NoMatch no) {
                    skipped.add(new StampReport.Skipped(Graph.nameOf(node), node.getOpType(), graph.path(), no.reason()));
                    return;
                }
                LinearLayer layer = ((MatchResult.Match) m).layer();
                Optional<String> quantized = QuantizedWeights.skipReason(graph, layer.weight(), config.dequantizeWeights());
                if (quantized.isPresent()) {
                    skipped.add(new StampReport.Skipped(layer.name(), node.getOpType(), graph.path(), quantized.get()));
                    return;
                }
                Planner.Outcome outcome = planner.plan(layer, grids);
                if (outcome instanceof Planner.Outcome.Refused refused) {
                    skipped.add(new StampReport.Skipped(layer.name(), node.getOpType(), graph.path(), refused.reason()));
                    return;
                }
                LayerPlan plan = ((Planner.Outcome.Planned) outcome).plan();
                String weightDetail = rule.emit(plan);
                String detail = weightDetail.isEmpty() ? plan.describeBits() : plan.describeBits() + "; " + weightDetail;
                rewritten.add(new StampReport.Layer(layer.name(), node.getOpType(), graph.path(), layer.activation(), layer.output(),
                        layer.weightShape(), plan.describeTransform(), plan.gridSource(), detail));
            }
        }

        /** Rewrites the If/Loop/Scan bodies of {@code node}; returns the node itself when nothing changed. */
        private NodeProto rewriteBodies(NodeProto node, List<Graph> bodies) {
            NodeProto.Builder b = node.toBuilder();
            boolean changed = false;
            int k = 0;
            for (int a = 0; a < b.getAttributeCount(); a++) {
                OnnxMl.AttributeProto.Builder attr = b.getAttribute(a).toBuilder();
                if (attr.hasG()) {
                    OnnxMl.GraphProto g = rewrite(bodies.get(k++));
                    if (g != attr.getG()) { attr.setG(g); changed = true; }
                }
                for (int j = 0; j < attr.getGraphsCount(); j++) {
                    OnnxMl.GraphProto g = rewrite(bodies.get(k++));
                    if (g != attr.getGraphs(j)) { attr.setGraphs(j, g); changed = true; }
                }
                b.setAttribute(a, attr);
            }
            return changed ? b.build() : node;
        }
    }
}
