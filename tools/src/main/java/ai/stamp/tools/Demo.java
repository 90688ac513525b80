package ai.stamp.tools;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The demo: all-MiniLM-L6-v2 rewritten in stamp, baseline and transform-only modes (default options otherwise),
 * each validated against the original on the same text windows, summarised as one Markdown table.
 */
public final class Demo {
    private Demo() {}

    /** One row of the demo table. */
    public record Row(String mode, int layersRewritten, int layersSkipped, double outputSqnrDb, double pooledCosine,
                      double meanLayerSqnrDb, Path model, Validator.Report validation) {}

    public static final List<StampConfig.Mode> MODES =
            List.of(StampConfig.Mode.STAMP, StampConfig.Mode.BASELINE, StampConfig.Mode.TRANSFORM_ONLY);

    /** Runs the demo into {@code workDir}; {@code text} null means the built-in text. Progress goes to {@code log}. */
    public static List<Row> run(Path workDir, String text, int seqLen, int samples, PrintWriter log) {
        Path modelPath = RealModels.miniLm();
        Path tokenizer = RealModels.miniLmTokenizer();
        log.println("model: " + modelPath);
        LoadedModel original = ModelFile.read(modelPath);
        List<ModelInputs.Sample> inputs = ModelInputs.forModel(original, text, tokenizer, seqLen, samples, java.util.Map.of());
        log.println("inputs: " + samples + " window(s) of " + seqLen + " tokens");
        log.flush();
        List<Row> rows = new ArrayList<>();
        for (StampConfig.Mode mode : MODES) {
            String name = modeName(mode);
            Path out = workDir.resolve("all-minilm-l6-v2." + name + ".onnx");
            StampConfig config = StampConfig.builder().mode(mode).build();
            StampResult result = RewriteJob.run(modelPath, out, config, workDir.resolve("all-minilm-l6-v2." + name + ".report.json"));
            log.println(name + ": " + RewriteJob.summary(result.report()) + " -> " + out);
            log.flush();
            Validator.Report r = Validator.validate(original, ModelFile.read(out), inputs);
            RewriteJob.writeText(workDir.resolve("all-minilm-l6-v2." + name + ".validate.json"), r.toJson());
            Validator.OutputMetric o = r.outputs().get(0);
            rows.add(new Row(name, result.report().rewritten().size(), result.report().skipped().size(), o.sqnrDb(), o.cosine(),
                    r.meanLayerSqnrDb(), out, r));
        }
        return rows;
    }

    public static String modeName(StampConfig.Mode mode) {
        return mode.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The side-by-side Markdown table. */
    public static String markdown(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| mode | layers rewritten | output SQNR (dB) | pooled cosine | mean layer SQNR (dB) |\n");
        sb.append("|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append("| ").append(r.mode()).append(" | ").append(r.layersRewritten()).append(" | ")
                    .append(Format.db(r.outputSqnrDb())).append(" | ").append(Format.cos(r.pooledCosine())).append(" | ")
                    .append(Format.db(r.meanLayerSqnrDb())).append(" |\n");
        }
        return sb.toString();
    }
}
