package ai.stamp.tools;

import ai.stamp.compiler.CompilePlan;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.compiler.passes.linear.WeightPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
        return run(in, out, config, report, calib, progress, Mode.WRITE, null).result();
    }

    /**
     * The model as read and what the compiler made of it: {@code report} always; {@code result} is null for a dry
     * run (the plan was not emitted).
     */
    public record Outcome(LoadedModel input, StampReport report, StampResult result) {}

    /** What {@link #run} does with the result. */
    public enum Mode {
        /** write OUT; no layer rewritten is fine (the unchanged model is written: {@code --allow-noop}). */
        WRITE,
        /** write OUT; no layer rewritten is a NOTHING_TO_REWRITE error and nothing is written (the CLI default). */
        WRITE_IF_CHANGED,
        /** plan only: check everything (OUT writable included) but emit and write no model ({@code --dry-run}); the report is still written. */
        DRY_RUN
    }

    /**
     * As above; {@code mode} says what happens to OUT, {@code warn} (may be null) receives the warning when the
     * unchanged model is written.
     */
    public static Outcome run(Path in, Path out, StampConfig config, Path report, CalibrationInputs.Source calib,
                              Consumer<String> progress, Mode mode, Consumer<String> warn) {
        if (sameFile(in, out)) {
            throw new StampException(StampException.Kind.BAD_OPTION, "output " + out + " is the input model: choose another OUT path (stamp-onnx never overwrites its input)");
        }
        if (report != null && (sameFile(report, in) || sameFile(report, out))) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--report " + report + " would overwrite a model file");
        }
        checkOutputLocation(out);
        LoadedModel model = ModelFile.read(in);
        CompilePlan plan = plan(model, config, calib, progress, out.toAbsolutePath().getParent());
        StampReport planned = plan.report();
        boolean noop = planned.rewritten().isEmpty() && planned.embeddings().isEmpty();
        if (noop && mode == Mode.WRITE_IF_CHANGED) {
            if (report != null) writeText(report, planned.toJson());
            throw new StampException(StampException.Kind.NOTHING_TO_REWRITE, "no linear layer of " + in + " qualifies ("
                    + summary(planned) + "); " + out + " was not written: pass --allow-noop to write the model unchanged, "
                    + "or see 'stamp-onnx inspect' for every layer");
        }
        if (mode == Mode.DRY_RUN) {
            if (report != null) writeText(report, planned.toJson());
            return new Outcome(model, planned, null);
        }
        StampResult result = plan.emit();
        try {
            if (report != null) writeText(report, result.report().toJson());
            if (noop) {
                ModelFile.write(model.proto(), model.directory(), out);
                if (warn != null) warn.accept("stamp-onnx: warning: no linear layer of " + in + " was rewritten; wrote it unchanged to " + out + " (--allow-noop)");
            } else {
                ModelFile.write(result, model.directory(), out);
            }
            return new Outcome(model, result.report(), result);
        } finally {
            result.deleteScratch();
        }
    }

    /**
     * Matches, calibrates (on {@code calib} when it is given, else not: a config that needs calibration then fails with
     * the compiler's message) and plans {@code model}, emitting nothing. External-data weights are read from the
     * model's folder; when the plan is emitted their quantized values go to a scratch data file in
     * {@code scratchDirectory} (java.io.tmpdir when null) until the result is written or
     * {@link StampResult#deleteScratch()} is called.
     */
    public static CompilePlan plan(LoadedModel model, StampConfig config, CalibrationInputs.Source calib, Consumer<String> progress,
                                   Path scratchDirectory) {
        ExternalWeights external = scratchDirectory == null ? ExternalWeights.of(model.directory())
                : ExternalWeights.of(model.directory(), scratchDirectory);
        StampCompiler.Compilation compilation = StampCompiler.prepare(model.proto(), config, external);
        CalibrationStats stats = calib == null ? CalibrationStats.NONE
                : CalibrationInputs.collect(compilation, model, config, calib, progress);
        return compilation.plan(stats);
    }

    /** {@link #plan} and emit, scratch data in java.io.tmpdir. */
    public static StampResult compile(LoadedModel model, StampConfig config, CalibrationInputs.Source calib, Consumer<String> progress) {
        return plan(model, config, calib, progress, null).emit();
    }

    /** Fails early (before any work) when OUT's folder does not exist, is a file, or is not writable. */
    static void checkOutputLocation(Path out) {
        Path dir = out.toAbsolutePath().getParent();
        if (dir == null) return;
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing != null && !Files.isDirectory(existing)) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "cannot write " + out + ": " + existing
                    + " is a file, not a folder; choose an OUT path in an existing folder");
        }
        if (!Files.isDirectory(dir)) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "cannot write " + out + ": folder " + dir
                    + " does not exist; create it first or choose another OUT path");
        }
        if (!Files.isWritable(dir)) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "cannot write " + out + ": folder " + dir
                    + " is not writable; choose another OUT path");
        }
        if (Files.isDirectory(out)) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "cannot write " + out + ": it is a folder; give a file name such as "
                    + out.resolve("model.stamp.onnx"));
        }
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

    /**
     * "36 linear layer(s) rewritten (36 MatMul), 12 MatMul/Gemm skipped: 12 × runtime-operand (second operand is ...)",
     * then, when a configured weight method left some of the rewritten layers' weights as they were,
     * ", 3 weight(s) left float: weight is ..." (the reasons of the report details, grouped);
     * then, when embedding tables were looked at: "; 3 embedding table(s) quantized to int8[ (…)][, 1 Gather skipped: …]".
     */
    /**
     * For a decoder with a KV cache, e.g. "decoder: sink = position 0 (past length = ...); effective activation bits:
     * prefill 4.71 (16 tokens), ...; decode 4.00 (1 token), ..."; empty otherwise.
     */
    public static Optional<String> decoderLine(StampReport report) {
        if (report.decoder() == null) return Optional.empty();
        StringBuilder sb = new StringBuilder("decoder: sink = position 0, not the first token of each call (past length = ")
                .append(report.decoder().pastLength()).append("); effective activation bits:");
        String phase = "";
        for (StampReport.ChunkBits b : report.decoder().effectiveBits()) {
            sb.append(b.phase().equals(phase) ? ", " : (phase.isEmpty() ? " " : "; ") + b.phase() + " ");
            phase = b.phase();
            sb.append(String.format(java.util.Locale.ROOT, "%.2f (%d token%s)", b.averageBits(), b.tokens(), b.tokens() == 1 ? "" : "s"));
        }
        StampReport.KvCache kv = report.decoder().kvCache();
        if (kv != null) {
            sb.append(String.format(java.util.Locale.ROOT, "; KV cache (%s, %d/%d bits, %d tensors): ", kv.mode(), kv.hiBits(), kv.loBits(), kv.tensors().size()));
            sb.append(kv.effectiveBits().stream().map(b -> String.format(java.util.Locale.ROOT, "%.2f bits over %d of %d tokens", b.averageBits(),
                    b.quantizedTokens(), b.cacheTokens())).collect(Collectors.joining(", "))).append(" (the open block in float)");
            if (!kv.skipped().isEmpty()) sb.append("; ").append(kv.skipped().size()).append(" cache tensor(s) left alone: ").append(kv.skipped().get(0));
        }
        return Optional.of(sb.toString());
    }

    public static String summary(StampReport report) {
        Map<String, Long> rewritten = report.rewritten().stream()
                .collect(Collectors.groupingBy(StampReport.Layer::opType, LinkedHashMap::new, Collectors.counting()));
        Map<String, List<StampReport.Skipped>> byCode = report.skipped().stream()
                .collect(Collectors.groupingBy(StampReport.Skipped::code, LinkedHashMap::new, Collectors.toList()));
        StringBuilder sb = new StringBuilder();
        sb.append(report.rewritten().size()).append(" linear layer(s) rewritten");
        if (!rewritten.isEmpty()) {
            sb.append(" (").append(rewritten.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "))).append(')');
        }
        sb.append(", ").append(report.skipped().size()).append(" MatMul/Gemm skipped");
        if (!byCode.isEmpty()) {
            sb.append(": ").append(byCode.entrySet().stream().limit(4)
                    .map(e -> e.getValue().size() + " × " + e.getKey() + " (" + withoutNames(e.getValue().get(0).reason()) + ")")
                    .collect(Collectors.joining("; ")));
            if (byCode.size() > 4) sb.append("; ").append(byCode.size() - 4).append(" other reason(s), see --report or inspect");
        }
        List<String> leftFloat = report.rewritten().stream().map(l -> WeightPlan.skipReason(l.detail())).flatMap(Optional::stream)
                .map(RewriteJob::withoutNames).toList();
        if (!leftFloat.isEmpty()) {
            Map<String, Long> byReason = leftFloat.stream().collect(Collectors.groupingBy(r -> r, LinkedHashMap::new, Collectors.counting()));
            sb.append(", ").append(leftFloat.size()).append(" weight(s) left float: ");
            if (byReason.size() == 1) {
                sb.append(leftFloat.get(0));
            } else {
                sb.append(byReason.entrySet().stream().limit(3).map(e -> e.getValue() + " × " + e.getKey()).collect(Collectors.joining("; ")));
                if (byReason.size() > 3) sb.append("; ").append(byReason.size() - 3).append(" other reason(s), see --report");
            }
        }
        if (!report.embeddings().isEmpty() || !report.skippedEmbeddings().isEmpty()) sb.append("; ").append(embeddingSummary(report));
        if (!report.removedInitializers().isEmpty()) {
            sb.append("; ").append(report.removedInitializers().size()).append(" unused initializer(s) removed (")
                    .append(String.format(java.util.Locale.ROOT, "%.2f MiB", report.freedBytes() / (1024.0 * 1024.0))).append(')');
        }
        return sb.toString();
    }

    /** "3 embedding table(s) quantized to int8 (4 Gather; 1 float table kept for other readers), 1 Gather skipped: 1 × excluded (...)". */
    static String embeddingSummary(StampReport report) {
        StringBuilder sb = new StringBuilder();
        long tables = report.embeddingTables();
        sb.append(tables).append(" embedding table(s) quantized to int8");
        List<String> notes = new java.util.ArrayList<>();
        if (report.embeddings().size() != tables) notes.add(report.embeddings().size() + " Gather");
        long kept = report.embeddings().stream().filter(StampReport.Embedding::floatTableKept).map(StampReport.Embedding::table).distinct().count();
        if (kept > 0) notes.add(kept + " float table(s) kept for other readers");
        if (!notes.isEmpty()) sb.append(" (").append(String.join("; ", notes)).append(')');
        if (!report.skippedEmbeddings().isEmpty()) {
            Map<String, List<StampReport.Skipped>> byCode = report.skippedEmbeddings().stream()
                    .collect(Collectors.groupingBy(StampReport.Skipped::code, LinkedHashMap::new, Collectors.toList()));
            sb.append(", ").append(report.skippedEmbeddings().size()).append(" Gather skipped: ").append(byCode.entrySet().stream().limit(4)
                    .map(e -> e.getValue().size() + " × " + e.getKey() + " (" + withoutNames(e.getValue().get(0).reason()) + ")")
                    .collect(Collectors.joining("; ")));
            if (byCode.size() > 4) sb.append("; ").append(byCode.size() - 4).append(" other reason(s), see --report or inspect");
        }
        return sb.toString();
    }

    /**
     * A reason with its quoted tensor and node names left out, as the text of its group: "second operand 'x' is
     * computed at run time" becomes "second operand is computed at run time", "computed from 'y', which" becomes
     * "computed from a tensor, which". (No "'…'" placeholder: it reads as text cut off.)
     */
    static String withoutNames(String reason) {
        String names = "'[^']*'(?:/'[^']*')*";
        return reason.replaceAll("\\b(from|of|reading|for|by|with) " + names, "$1 a tensor")
                .replaceAll(" ?" + names, "")
                .replaceAll(" {2,}", " ")
                .strip();
    }
}
