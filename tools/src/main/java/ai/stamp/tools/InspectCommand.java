package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Lists every MatMul/Gemm and whether rewrite would rewrite it, and if not, why.",
        description = {"Lists every MatMul/Gemm of IN.onnx and whether 'rewrite' with the same options would rewrite it,",
            "and if not, why. Matches and plans exactly as rewrite does; emits and writes no model."})
final class InspectCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN.onnx", description = "The model to inspect.")
    Path in;

    @Mixin StampOptions options;

    @Mixin CalibrationOptions calibration;

    @Option(names = {"-q", "--quiet"}, description = "Do not print calibration progress on stderr.")
    boolean quiet;

    @Option(names = "--report", paramLabel = "FILE.json", description = "Also write the rewrite report as JSON (same schema as rewrite --report).")
    Path report;

    @Override
    public Integer call() {
        StampConfig config = options.toConfig();
        CalibrationInputs.Source calib = calibration.toSource();
        LoadedModel model = ModelFile.read(in);
        PrintWriter err = spec.commandLine().getErr();
        // the same match and plan as rewrite (external weights included), without emission
        StampReport planned = RewriteJob.plan(model, config, calib, quiet ? null : line -> {
            err.println(line);
            err.flush();
        }, null).report();
        if (report != null) RewriteJob.writeText(report, planned.toJson());
        PrintWriter o = spec.commandLine().getOut();
        for (String line : lines(model.proto(), planned)) o.println(line);
        o.println(RewriteJob.summary(planned));
        RewriteJob.decoderLine(planned).ifPresent(o::println);
        o.println("config: " + config);
        o.flush();
        return 0;
    }

    /** One row of the listing: what happens to the node, its op type, name, the graph it is in, and the details. */
    private record Row(String status, String opType, String name, String graph, String detail) {}

    /**
     * One line per MatMul/Gemm (and per Gather of a constant table with --quantize-embeddings), in graph order, subgraphs
     * (If then/else branches, Loop and Scan bodies) included, each naming the graph it is in ("main",
     * "main/if.then_branch": the report's {@code graph} paths), in aligned columns. Nodes are told apart by graph and
     * name, so same-named nodes of the two branches of an If are two lines; unnamed nodes go by the compiler's
     * name for them ("MatMul(out)"), as in the report.
     */
    static List<String> lines(OnnxMl.ModelProto model, StampReport report) {
        Map<String, Row> status = new LinkedHashMap<>();
        for (StampReport.Layer l : report.rewritten()) {
            status.put(key(l.graph(), l.name()), new Row("REWRITE", l.opType(), l.name(), l.graph(), String.format("%s -> %s, weight %s, %s%s",
                    l.input(), l.output(), l.weightShape(), l.transform(), l.detail() == null || l.detail().isEmpty() ? "" : ", " + l.detail())));
        }
        for (StampReport.Skipped s : report.skipped()) {
            status.put(key(s.graph(), s.name()), new Row("skip", s.opType(), s.name(), s.graph(), s.reason()));
        }
        for (StampReport.Embedding e : report.embeddings()) {
            status.putIfAbsent(key(e.graph(), e.name()), new Row("INT8", "Gather", e.name(), e.graph(),
                    String.format("table %s %s -> %s, %s", e.table(), e.shape(), e.output(), e.detail())));
        }
        for (StampReport.Skipped s : report.skippedEmbeddings()) {
            status.putIfAbsent(key(s.graph(), s.name()), new Row("skip", s.opType(), s.name(), s.graph(), s.reason()));
        }
        List<Row> rows = new ArrayList<>();
        Set<String> done = new HashSet<>();
        walk(model.getGraph(), ai.stamp.compiler.ir.Graph.MAIN_SCOPE, status, rows, done);
        for (Map.Entry<String, Row> e : status.entrySet()) {
            if (done.add(e.getKey())) rows.add(e.getValue());
        }
        int op = rows.stream().mapToInt(r -> r.opType().length()).max().orElse(0);
        int name = rows.stream().mapToInt(r -> r.name().length()).max().orElse(0);
        int graph = rows.stream().mapToInt(r -> r.graph().length()).max().orElse(0);
        String format = "%-8s %-" + Math.max(op, 1) + "s  %-" + Math.max(name, 1) + "s  %-" + Math.max(graph, 1) + "s  (%s)";
        List<String> out = new ArrayList<>();
        for (Row r : rows) out.add(String.format(format, r.status(), r.opType(), r.name(), r.graph(), r.detail()));
        return out;
    }

    private static String key(String graph, String name) {
        return graph + "\u0000" + name;
    }

    /** The rows of {@code g}'s nodes in order, then those of each node's bodies, with graph paths as the compiler makes them. */
    private static void walk(OnnxMl.GraphProto g, String path, Map<String, Row> status, List<Row> rows, Set<String> done) {
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            String name = ai.stamp.compiler.ir.Graph.nameOf(n);
            String key = key(path, name);
            Row row = status.get(key);
            if (row != null) {
                if (done.add(key)) rows.add(row);
            } else if ((n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")) && n.getDomain().isEmpty() && done.add(key)) {
                rows.add(new Row("skip", n.getOpType(), name, path, "not in the report"));
            }
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) walk(a.getG(), path + "/" + name + "." + a.getName(), status, rows, done);
                for (int i = 0; i < a.getGraphsCount(); i++) {
                    walk(a.getGraphs(i), path + "/" + name + "." + a.getName() + "[" + i + "]", status, rows, done);
                }
            }
        }
    }
}
