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

    /** The one-line summary the CLI prints: {@link StampReport#summary()}. */
    public static String summary(StampReport report) {
        return report.summary();
    }
}
