package ai.stamp.tools;

import ai.stamp.compiler.LoadedModel;
import ai.stamp.compiler.ModelFile;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.calibration.CalibrationStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/** read → compile → write, as {@code rewrite} and {@code demo} do it. */
public final class RewriteJob {
    private RewriteJob() {}

    /** Rewrites {@code in} into {@code out} (never over {@code in}); writes the report JSON when {@code report} is not null. */
    public static StampResult run(Path in, Path out, StampConfig config, Path report) {
        return run(in, out, config, report, null, null);
    }

    /**
     * As {@link #run(Path, Path, StampConfig, Path)}, calibrating first on {@code calib} (may be null) when the config
     * needs it or {@code calib} is given; {@code progress} (may be null) receives the calibration progress lines.
     */
    public static StampResult run(Path in, Path out, StampConfig config, Path report, CalibrationInputs.Source calib,
                                  Consumer<String> progress) {
        if (sameFile(in, out)) {
            throw new StampException(StampException.Kind.BAD_OPTION, "output " + out + " is the input model: choose another OUT path (stamp-onnx never overwrites its input)");
        }
        if (report != null && (sameFile(report, in) || sameFile(report, out))) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--report " + report + " would overwrite a model file");
        }
        LoadedModel model = ModelFile.read(in);
        StampResult result = compile(model, config, calib, progress);
        ModelFile.write(result.model(), model.directory(), out);
        if (report != null) writeText(report, result.report().toJson());
        return result;
    }

    /**
     * Compiles {@code model}: with calibration statistics from {@code calib} when it is given, else without (and a
     * config that needs calibration fails with the compiler's message).
     */
    public static StampResult compile(LoadedModel model, StampConfig config, CalibrationInputs.Source calib, Consumer<String> progress) {
        CalibrationStats stats = calib == null ? CalibrationStats.NONE : CalibrationInputs.collect(model, config, calib, progress);
        return StampCompiler.compile(model.proto(), config, stats);
    }

    static boolean sameFile(Path a, Path b) {
        if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) return true;
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    static void writeText(Path file, String text) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null) Files.createDirectories(dir);
            Files.writeString(file, text.endsWith("\n") ? text : text + "\n");
        } catch (IOException e) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** A skip reason with quoted tensor/node names elided, so that reasons of the same kind group together. */
    static String genericReason(String reason) {
        return reason == null ? "(no reason given)" : reason.replaceAll("'[^']*'", "'…'");
    }

    /** "36 MatMul rewritten; 12 skipped (12 × reason)". */
    public static String summary(StampReport report) {
        Map<String, Long> rewritten = report.rewritten().stream()
                .collect(Collectors.groupingBy(StampReport.Layer::opType, LinkedHashMap::new, Collectors.counting()));
        Map<String, Long> reasons = report.skipped().stream()
                .collect(Collectors.groupingBy(s -> genericReason(s.reason()), LinkedHashMap::new, Collectors.counting()));
        StringBuilder sb = new StringBuilder();
        sb.append(report.rewritten().size()).append(" linear layer(s) rewritten");
        if (!rewritten.isEmpty()) {
            sb.append(" (").append(rewritten.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "))).append(')');
        }
        sb.append(", ").append(report.skipped().size()).append(" MatMul/Gemm skipped");
        if (!reasons.isEmpty()) {
            sb.append(": ").append(reasons.entrySet().stream().limit(4).map(e -> e.getValue() + " × " + e.getKey()).collect(Collectors.joining("; ")));
            if (reasons.size() > 4) sb.append("; …");
        }
        return sb.toString();
    }
}
