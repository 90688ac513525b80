package ai.stamp.tools;

import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.LoadedModel;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The paper's LLM table for a causal LM: the {@link PaperTable} rows (weight quantizer x feature transform) and columns
 * (float, weights only, matched baseline and STaMP, with and without a quantized KV cache), each cell the perplexity
 * of one in-memory rewrite on every text. The float column does not depend on the row, so it is scored once.
 */
public final class PerplexityTable {
    private PerplexityTable() {}

    /** One cell: the perplexity on each text, in the order of the texts. */
    public record Cell(PaperTable.Row row, PaperTable.Column column, List<Double> perplexities, String config) {}

    /**
     * Scores every (row, column) on every text; {@code original} is the unrewritten model, already open (so a model
     * that is not a causal LM was refused before any calibration), and scores the float column.
     */
    public static List<Cell> run(CausalLm original, LoadedModel model, StampConfig base, CalibrationStats stats, List<ScoredText> texts,
                                 List<PaperTable.Row> rows, List<PaperTable.Column> columns, PrintWriter log) {
        List<Double> reference = null;
        List<Cell> cells = new ArrayList<>();
        for (PaperTable.Row row : rows) {
            for (PaperTable.Column column : columns) {
                long t0 = System.nanoTime();
                List<Double> ppl;
                String config;
                if (column.isOriginal()) {
                    if (reference == null) reference = score(original, texts);
                    ppl = reference;
                    config = "original";
                } else {
                    StampConfig c = PaperTable.config(base, row, column);
                    StampResult result = StampCompiler.compile(model.proto(), c, stats);
                    try (CausalLm lm = CausalLm.open(model.withProto(result.model()))) {
                        ppl = score(lm, texts);
                    }
                    config = c.toString();
                }
                cells.add(new Cell(row, column, ppl, config));
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-24s %-22s", row.label(), column.label()));
                for (int i = 0; i < texts.size(); i++) line.append(String.format(Locale.ROOT, "  %s %.3f", texts.get(i).name(), ppl.get(i)));
                log.println(line.append(String.format(Locale.ROOT, "  (%.1f s)", (System.nanoTime() - t0) / 1e9)));
                log.flush();
            }
        }
        return cells;
    }

    private static List<Double> score(CausalLm lm, List<ScoredText> texts) {
        List<Double> out = new ArrayList<>();
        for (ScoredText t : texts) out.add(t.score(lm, null).perplexity());
        return List.copyOf(out);
    }

    /**
     * Markdown: one row per method, one group of columns per text ("story.txt: STaMP A4"); in each group the lowest
     * perplexity among the columns that quantize activations is bold (float and weights-only are references, not
     * competitors).
     */
    public static String markdown(List<Cell> cells, List<PaperTable.Row> rows, List<PaperTable.Column> columns, List<String> texts) {
        StringBuilder sb = new StringBuilder("| method |");
        for (String t : texts) columns.forEach(c -> sb.append(' ').append(t).append(": ").append(c.label()).append(" |"));
        sb.append("\n|---|").append("---:|".repeat(columns.size() * texts.size())).append('\n');
        double[] best = new double[texts.size()];
        for (int i = 0; i < texts.size(); i++) {
            int text = i;
            best[i] = cells.stream().filter(c -> c.column().quantizesActivations()).mapToDouble(c -> c.perplexities().get(text))
                    .filter(Double::isFinite).min().orElse(Double.NaN);
        }
        for (PaperTable.Row row : rows) {
            sb.append("| ").append(row.label()).append(" |");
            for (int i = 0; i < texts.size(); i++) {
                for (PaperTable.Column column : columns) {
                    Cell cell = cell(cells, row, column);
                    double p = cell.perplexities().get(i);
                    String v = Double.isFinite(p) ? String.format(Locale.ROOT, "%.2f", p) : "n/a";
                    sb.append(' ').append(column.quantizesActivations() && p == best[i] ? "**" + v + "**" : v).append(" |");
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static Cell cell(List<Cell> cells, PaperTable.Row row, PaperTable.Column column) {
        return cells.stream().filter(x -> x.row().equals(row) && x.column().equals(column)).findFirst().orElseThrow();
    }
}
