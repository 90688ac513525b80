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
 *
 * <p>The transform ablation ({@link #transformRows}, {@link #ablationColumns}) is the same machinery with one
 * row per sequence transform and two columns, STaMP and the matched baseline.
 */
public final class PaperTable {
    private PaperTable() {}

    /**
     * A row: how weights are quantized, which feature transform precedes the activation quantizer, and which
     * sequence transform STaMP uses ({@code transform} null: the base config's).
     */
    public record Row(String label, StampConfig.WeightQuant weights, StampConfig.Rotation rotation, double smoothAlpha, String transform) {
        public Row(String label, StampConfig.WeightQuant weights, StampConfig.Rotation rotation, double smoothAlpha) {
            this(label, weights, rotation, smoothAlpha, null);
        }

        StampConfig.Builder apply(StampConfig.Builder b) {
            b.weights(weights).rotation(rotation).smoothAlpha(smoothAlpha);
            return transform == null ? b : b.transform(transform);
        }
    }

    /**
     * A column: the activation scheme. {@code uniformBits} > 0 means every token at that width with no
     * transform — the reference point an intermediate-width allocation has to beat. {@code kvBits} > 0 also quantizes
     * a decoder's KV cache (with the column's mode). A null {@code mode} is the original model, not rewritten.
     */
    public record Column(String label, StampConfig.Mode mode, int hiTokens, double energyAvgBits, int uniformBits, int kvBits) {
        public Column(String label, StampConfig.Mode mode, int hiTokens, double energyAvgBits, int uniformBits) {
            this(label, mode, hiTokens, energyAvgBits, uniformBits, 0);
        }

        /** The original model's column (float weights and activations): the reference the others are read against. */
        static Column original(String label) { return new Column(label, null, 0, Double.NaN, 0, 0); }

        boolean isOriginal() { return mode == null; }

        /** Whether the column quantizes activations (the competing schemes; TRANSFORM_ONLY keeps them float). */
        boolean quantizesActivations() { return mode == StampConfig.Mode.STAMP || mode == StampConfig.Mode.BASELINE; }

        StampConfig.Builder apply(StampConfig.Builder b) {
            if (isOriginal()) throw new IllegalStateException("the original model's column is not a rewrite");
            b.mode(mode).hiTokens(hiTokens).kvBits(kvBits);
            if (!Double.isNaN(energyAvgBits)) b.allocation(StampConfig.Allocation.ENERGY).avgBits(energyAvgBits);
            if (uniformBits > 0) b.hiBits(uniformBits).loBits(uniformBits);
            return b;
        }
    }

    /** The config of one cell: {@code base}'s shared options, the row's weights and feature transform, the column's scheme. */
    static StampConfig config(StampConfig base, Row row, Column column) {
        return column.apply(row.apply(base.toBuilder())).build();
    }

    public record Cell(Row row, Column column, double sqnrDb, double cosine, String config) {}

    /** "W fp32", "RTN W8", "GPTQ W4", ... */
    static String weightsLabel(StampConfig.WeightQuant weights) {
        return weights == StampConfig.WeightQuant.NONE ? "W fp32" : weights.name().toLowerCase(Locale.ROOT).replace("rtn", "RTN W").replace("gptq", "GPTQ W");
    }

    /** The label of the identity row: there STaMP inserts no transform, so it is the matched baseline itself. */
    static final String IDENTITY_LABEL = "identity (no transform: STaMP = baseline)";

    /**
     * The ablation rows at one weight quantizer: one per sequence transform id, no feature transform; labels are
     * the ids (the identity's says that its STaMP is the baseline), followed by the weights when {@code withWeights}.
     */
    public static List<Row> transformRows(StampConfig.WeightQuant weights, List<String> transforms, boolean withWeights) {
        List<Row> rows = new ArrayList<>();
        for (String t : transforms) {
            String label = t.equals(StampConfig.IDENTITY_TRANSFORM) ? IDENTITY_LABEL : t;
            rows.add(new Row(withWeights ? label + ", " + weightsLabel(weights) : label, weights, StampConfig.Rotation.NONE, -1, t));
        }
        return List.copyOf(rows);
    }

    /** The ablation columns: STaMP with the band at hi bits, and the matched baseline (same high-precision count). */
    public static List<Column> ablationColumns() {
        return List.of(new Column("STaMP", StampConfig.Mode.STAMP, 0, Double.NaN, 0),
                new Column("matched baseline", StampConfig.Mode.BASELINE, 0, Double.NaN, 0));
    }

    /** The default rows at one weight quantizer: plain, SmoothQuant (alpha 0.5) and randomized Hadamard. */
    public static List<Row> defaultRows(StampConfig.WeightQuant weights) {
        String w = weightsLabel(weights);
        return List.of(
                new Row(w, weights, StampConfig.Rotation.NONE, -1),
                new Row(w + " + SmoothQuant 0.5", weights, StampConfig.Rotation.NONE, 0.5),
                new Row(w + " + Hadamard", weights, StampConfig.Rotation.RANDOM_HADAMARD, -1));
    }

    /** The LLM rows at one weight quantizer: no feature transform, and QuaRot's randomized Hadamard. */
    public static List<Row> llmRows(StampConfig.WeightQuant weights) {
        String w = weightsLabel(weights);
        return List.of(new Row(w, weights, StampConfig.Rotation.NONE, -1),
                new Row(w + " + Hadamard", weights, StampConfig.Rotation.RANDOM_HADAMARD, -1));
    }

    /**
     * The LLM columns: the original (float), the row's weights with float activations (transform-only: the transform
     * and its inverse cancel, so only the weights are quantized), the matched baseline and STaMP at A{@code loBits}
     * (sink + band at the base config's hi bits), and with {@code kvBits} > 0 the same two with the KV cache at
     * {@code kvBits} (baseline KV for the baseline, STaMP KV for STaMP).
     */
    public static List<Column> llmColumns(int loBits, int kvBits) {
        List<Column> columns = new ArrayList<>(List.of(Column.original("float"),
                new Column("A16 (weights only)", StampConfig.Mode.TRANSFORM_ONLY, 0, Double.NaN, 0),
                new Column("baseline A" + loBits, StampConfig.Mode.BASELINE, 0, Double.NaN, 0),
                new Column("STaMP A" + loBits, StampConfig.Mode.STAMP, 0, Double.NaN, 0)));
        if (kvBits > 0) {
            columns.add(new Column("baseline A" + loBits + " KV" + kvBits, StampConfig.Mode.BASELINE, 0, Double.NaN, 0, kvBits));
            columns.add(new Column("STaMP A" + loBits + " KV" + kvBits, StampConfig.Mode.STAMP, 0, Double.NaN, 0, kvBits));
        }
        return List.copyOf(columns);
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
                StampConfig config = config(base, row, column);
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

    /**
     * The ablation as Markdown: one row per transform, "SQNR dB / cosine" for STaMP and the matched baseline, then
     * STaMP's SQNR gain over the baseline; the best SQNR in bold.
     */
    public static String ablationMarkdown(List<Cell> cells, List<Row> rows) {
        List<Column> columns = ablationColumns();
        String table = markdown(cells, rows, columns, "transform");
        StringBuilder sb = new StringBuilder();
        List<String> lines = table.lines().toList();
        sb.append(lines.get(0)).append(" STaMP − baseline (dB) |\n");
        sb.append(lines.get(1)).append("---|\n");
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            double stamp = cell(cells, row, columns.get(0)).sqnrDb(), base = cell(cells, row, columns.get(1)).sqnrDb();
            double delta = stamp - base;
            String d = Double.isFinite(delta) ? String.format(Locale.ROOT, "%+.2f", delta) : "n/a";
            sb.append(lines.get(2 + i)).append(' ').append(d).append(" |\n");
        }
        return sb.toString();
    }

    private static Cell cell(List<Cell> cells, Row row, Column column) {
        return cells.stream().filter(x -> x.row().equals(row) && x.column().equals(column)).findFirst().orElseThrow();
    }

    /** Markdown: one row per method, "SQNR dB / cosine" per column, the best SQNR in bold. */
    public static String markdown(List<Cell> cells, List<Row> rows, List<Column> columns) {
        return markdown(cells, rows, columns, "method");
    }

    /** As {@link #markdown(List, List, List)} with {@code rowHeader} over the row labels. */
    static String markdown(List<Cell> cells, List<Row> rows, List<Column> columns, String rowHeader) {
        double best = cells.stream().mapToDouble(Cell::sqnrDb).filter(Double::isFinite).max().orElse(Double.NaN);
        StringBuilder sb = new StringBuilder("| " + rowHeader + " |");
        columns.forEach(c -> sb.append(' ').append(c.label()).append(" |"));
        sb.append("\n|---|");
        columns.forEach(c -> sb.append("---|"));
        sb.append('\n');
        for (Row row : rows) {
            sb.append("| ").append(row.label()).append(" |");
            for (Column column : columns) {
                Cell cell = cell(cells, row, column);
                String v = Format.db(cell.sqnrDb()) + " / " + Format.cos(cell.cosine());
                sb.append(' ').append(cell.sqnrDb() == best ? "**" + v + "**" : v).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
