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

    /** One line per MatMul/Gemm (and per Gather of a constant table with --quantize-embeddings), in graph order where the node is in the main graph. */
    static List<String> lines(OnnxMl.ModelProto model, StampReport report) {
        Map<String, String> status = new LinkedHashMap<>();
        for (StampReport.Layer l : report.rewritten()) {
            status.put(l.name(), String.format("REWRITE  %-6s %s  (%s -> %s, weight %s, %s%s)", l.opType(), l.name(), l.input(), l.output(),
                    l.weightShape(), l.transform(), l.detail() == null || l.detail().isEmpty() ? "" : ", " + l.detail()));
        }
        for (StampReport.Skipped s : report.skipped()) {
            status.put(s.name(), String.format("skip     %-6s %s  (%s)", s.opType(), s.name(), s.reason()));
        }
        for (StampReport.Embedding e : report.embeddings()) {
            status.putIfAbsent(e.name(), String.format("INT8     %-6s %s  (table %s %s -> %s, %s)", "Gather", e.name(), e.table(), e.shape(),
                    e.output(), e.detail()));
        }
        for (StampReport.Skipped s : report.skippedEmbeddings()) {
            status.putIfAbsent(s.name(), String.format("skip     %-6s %s  (%s)", s.opType(), s.name(), s.reason()));
        }
        List<String> out = new ArrayList<>();
        Set<String> done = new HashSet<>();
        for (OnnxMl.NodeProto n : model.getGraph().getNodeList()) {
            String line = status.get(n.getName());
            if (line != null && done.add(n.getName())) out.add(line);
            else if ((n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")) && n.getDomain().isEmpty() && !done.contains(n.getName())) {
                out.add(String.format("skip     %-6s %s  (not in the report)", n.getOpType(), n.getName()));
                done.add(n.getName());
            }
        }
        for (Map.Entry<String, String> e : status.entrySet()) {
            if (done.add(e.getKey())) out.add(e.getValue());
        }
        return out;
    }
}
