package ai.stamp.tools;

import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.quant.Hadamard;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The paper's composition table for one model: rows are established methods (weight quantizer x feature
 * transform), columns are the activation schemes at matched average bits — the identity baseline and STaMP
 * with the approximation band, the same two with a fixed count of high-precision tokens (the paper's 64), and
 * STaMP with energy-based allocation at the same average bits. Every cell is one rewrite of the original
 * model (in memory) validated on the same evaluation inputs; calibration statistics are collected once.
 */
public final class PaperTable {
    private PaperTable() {}

    /** A row: how weights are quantized and which feature transform precedes the activation quantizer. */
    public record Row(String label, StampConfig.WeightQuant weights, StampConfig.Rotation rotation, double smoothAlpha) {
        StampConfig.Builder apply(StampConfig.Builder b) {
            return b.weights(weights).rotation(rotation).smoothAlpha(smoothAlpha);
        }
    }

    /**
     * A column: the activation scheme. {@code uniformBits} > 0 means every token at that width with no
     * transform — the reference point an intermediate-width allocation has to beat.
     */
    public record Column(String label, StampConfig.Mode mode, int hiTokens, double energyAvgBits, int uniformBits) {
        StampConfig.Builder apply(StampConfig.Builder b) {
            b.mode(mode).hiTokens(hiTokens);
            if (!Double.isNaN(energyAvgBits)) b.allocation(StampConfig.Allocation.ENERGY).avgBits(energyAvgBits);
            if (uniformBits > 0) b.hiBits(uniformBits).loBits(uniformBits);
            return b;
        }
    }

    public record Cell(Row row, Column column, double sqnrDb, double cosine, String config) {}

    /** The default rows at one weight quantizer: plain, SmoothQuant (alpha 0.5) and randomized Hadamard. */
    public static List<Row> defaultRows(StampConfig.WeightQuant weights) {
        String w = weights == StampConfig.WeightQuant.NONE ? "W fp32" : weights.name().toLowerCase(Locale.ROOT).replace("rtn", "RTN W").replace("gptq", "GPTQ W");
        return List.of(
                new Row(w, weights, StampConfig.Rotation.NONE, -1),
                new Row(w + " + SmoothQuant 0.5", weights, StampConfig.Rotation.NONE, 0.5),
                new Row(w + " + Hadamard", weights, StampConfig.Rotation.RANDOM_HADAMARD, -1));
    }

    /**
     * Baseline and STaMP with the band, the same with {@code hiTokens} fixed tokens, STaMP energy at
     * {@code avgBits}, and every token at floor(avgBits) bits without a transform.
     */
    public static List<Column> defaultColumns(int hiTokens, double avgBits) {
        int uniform = (int) Math.floor(avgBits);
        return List.of(
                new Column("baseline", StampConfig.Mode.BASELINE, 0, Double.NaN, 0),
                new Column("STaMP", StampConfig.Mode.STAMP, 0, Double.NaN, 0),
                new Column("baseline K=" + hiTokens, StampConfig.Mode.BASELINE, hiTokens, Double.NaN, 0),
                new Column("STaMP K=" + hiTokens, StampConfig.Mode.STAMP, hiTokens, Double.NaN, 0),
                new Column(String.format(Locale.ROOT, "STaMP energy %.1f b", avgBits), StampConfig.Mode.STAMP, 0, avgBits, 0),
                new Column("uniform " + uniform + " b, no transform", StampConfig.Mode.BASELINE, 0, Double.NaN, uniform));
    }

    /** Rewrites and validates every cell; {@code base} holds the options shared by all cells (levels, bits, sink). */
    public static List<Cell> run(LoadedModel original, StampConfig base, CalibrationStats stats, List<ModelInputs.Sample> inputs,
                                 List<Row> rows, List<Column> columns, PrintWriter log) {
        List<Cell> cells = new ArrayList<>();
        for (Row row : rows) {
            for (Column column : columns) {
                StampConfig config = column.apply(row.apply(base.toBuilder())).build();
                StampResult result = StampCompiler.compile(original.proto(), config, stats);
                Validator.Report report = Validator.validate(original, original.withProto(result.model()), inputs);
                Validator.OutputMetric out = report.outputs().get(0);
                cells.add(new Cell(row, column, out.sqnrDb(), out.cosine(), config.toString()));
                log.println(String.format(Locale.ROOT, "%-32s %-22s %7s dB  cos %s", row.label(), column.label(),
                        Format.db(out.sqnrDb()), Format.cos(out.cosine())));
                log.flush();
            }
        }
        return cells;
    }

    /** Markdown: one row per method, "SQNR dB / cosine" per column, the best SQNR in bold. */
    public static String markdown(List<Cell> cells, List<Row> rows, List<Column> columns) {
        double best = cells.stream().mapToDouble(Cell::sqnrDb).filter(Double::isFinite).max().orElse(Double.NaN);
        StringBuilder sb = new StringBuilder("| method |");
        columns.forEach(c -> sb.append(' ').append(c.label()).append(" |"));
        sb.append("\n|---|");
        columns.forEach(c -> sb.append("---|"));
        sb.append('\n');
        for (Row row : rows) {
            sb.append("| ").append(row.label()).append(" |");
            for (Column column : columns) {
                Cell cell = cells.stream().filter(x -> x.row().equals(row) && x.column().equals(column)).findFirst().orElseThrow();
                String v = Format.db(cell.sqnrDb()) + " / " + Format.cos(cell.cosine());
                sb.append(' ').append(cell.sqnrDb() == best ? "**" + v + "**" : v).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
