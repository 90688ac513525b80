package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.TinyGraphs;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code table} command end to end on a tiny encoder block calibrated from .pb samples. */
class TableCommandTest {
    @TempDir Path dir;

    private static final List<String> COLUMNS = List.of("baseline", "STaMP", "baseline K=8", "STaMP K=8", "STaMP energy 5.0 b",
            "uniform 5 b, no transform");
    private static final List<String> ROWS = List.of("RTN W8", "RTN W8 + SmoothQuant 0.5", "RTN W8 + Hadamard",
            "GPTQ W8", "GPTQ W8 + SmoothQuant 0.5", "GPTQ W8 + Hadamard");
    private static final Pattern CELL = Pattern.compile("(\\*\\*)?(-?\\d+\\.\\d{2}) / (-?\\d\\.\\d{4})(\\*\\*)?");

    /** Sequences that vary slowly along the tokens (like real activations), as numbered .pb samples. */
    private void writeSmoothSamples(Path calib, int count) throws Exception {
        Random r = new Random(4);
        for (int s = 0; s < count; s++) {
            int seq = 48, d = 8;
            ByteBuffer b = ByteBuffer.allocate(4 * seq * d).order(ByteOrder.LITTLE_ENDIAN);
            for (int t = 0; t < seq; t++) {
                for (int f = 0; f < d; f++) b.putFloat((float) (Math.sin(0.1 * t + f + s) + 0.05 * r.nextGaussian()));
            }
            OnnxMl.TensorProto t = OnnxMl.TensorProto.newBuilder().setName("x").setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                    .addDims(1).addDims(seq).addDims(d).setRawData(ByteString.copyFrom(b.array())).build();
            Files.createDirectories(calib.resolve(Integer.toString(s)));
            Files.write(calib.resolve(s + "/x.pb"), t.toByteArray());
        }
    }

    private record Cell(double sqnrDb, double cosine, boolean bold) {}

    /** The Markdown table as rows of cells; asserts its layout: header, separator, one row per method of ROWS. */
    private static Cell[][] parse(String md) {
        List<String> lines = md.strip().lines().toList();
        assertEquals("| method | " + String.join(" | ", COLUMNS) + " |", lines.get(0));
        assertEquals("|---|" + "---|".repeat(COLUMNS.size()), lines.get(1));
        assertEquals(2 + ROWS.size(), lines.size(), md);
        Cell[][] cells = new Cell[ROWS.size()][COLUMNS.size()];
        for (int i = 0; i < ROWS.size(); i++) {
            String line = lines.get(2 + i);
            assertTrue(line.startsWith("| ") && line.endsWith(" |"), line);
            String[] parts = line.substring(2, line.length() - 2).split(" \\| ", -1);
            assertEquals(1 + COLUMNS.size(), parts.length, line);
            assertEquals(ROWS.get(i), parts[0], "row order: one block of 3 per --weights method");
            for (int c = 0; c < COLUMNS.size(); c++) {
                Matcher m = CELL.matcher(parts[1 + c]);
                assertTrue(m.matches(), "cell '" + parts[1 + c] + "' is not 'SQNR dB / cosine' in " + line);
                assertEquals(m.group(1) != null, m.group(4) != null, "bold markers in pairs: " + parts[1 + c]);
                cells[i][c] = new Cell(Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)), m.group(1) != null);
            }
        }
        return cells;
    }

    /** {@code validate} on the CLI, with the table's evaluation inputs: SQNR and cosine of output {@code hidden} (the first). */
    private double[] validateCli(Path model, Path rewritten) throws Exception {
        Path rep = dir.resolve(rewritten.getFileName() + ".json");
        CliTest.Run v = CliTest.cli("validate", model.toString(), rewritten.toString(), "--samples", "1", "--dim", "seq=48",
                "--report", rep.toString());
        assertEquals(0, v.code(), v.err());
        JsonObject json = JsonParser.parseString(Files.readString(rep)).getAsJsonObject();
        assertEquals("hidden", json.getAsJsonArray("outputs").get(0).getAsJsonObject().get("name").getAsString());
        for (JsonElement e : json.getAsJsonArray("outputs")) {
            JsonObject o = e.getAsJsonObject();
            if (o.get("name").getAsString().equals("hidden")) return new double[] {o.get("sqnr_db").getAsDouble(), o.get("cosine").getAsDouble()};
        }
        throw new AssertionError("no output hidden in " + json);
    }

    @Test
    void everyCellIsTheValidatedSqnrOfItsConfig() throws Exception {
        Path model = dir.resolve("block.onnx");
        Files.write(model, TinyGraphs.encoderBlock(13, 8, 1).toByteArray());
        Path calib = dir.resolve("calib");
        writeSmoothSamples(calib, 3);
        Path md = dir.resolve("table.md");
        CliTest.Run r = CliTest.cli("table", model.toString(), "--calib", calib.toString(), "--weights", "rtn8,gptq8",
                "--hi-tokens", "8", "--samples", "1", "--dim", "seq=48", "--out", md.toString(), "-q");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "-q prints only the table");

        Cell[][] cells = parse(r.out());
        double best = Double.NEGATIVE_INFINITY;
        for (Cell[] row : cells) {
            for (Cell c : row) {
                assertTrue(c.sqnrDb() > 20 && c.sqnrDb() < 80, "8-bit weights, 4..8-bit tokens (measured 32..43 dB): SQNR " + c.sqnrDb());
                assertTrue(c.cosine() > 0.9 && c.cosine() <= 1.0, "cosine " + c.cosine());
                best = Math.max(best, c.sqnrDb());
            }
        }
        // bold = the best SQNR of the table (ties in the 2-decimal rounding aside, exactly one cell)
        List<Cell> bold = Arrays.stream(cells).flatMap(Arrays::stream).filter(Cell::bold).toList();
        assertEquals(1, bold.size(), r.out());
        assertEquals(best, bold.get(0).sqnrDb(), 0.0, "the bold cell holds the best SQNR");

        // independent of PaperTable: rewrite with the CLI options each cell stands for, validate with the CLI, compare
        String[][] checks = {
            {"0", "1", "--weights", "rtn8"},
            {"2", "5", "--weights", "rtn8", "--rotate", "random-hadamard", "--mode", "baseline", "--hi-bits", "5", "--lo-bits", "5"},
            {"4", "3", "--weights", "gptq8", "--smooth", "0.5", "--hi-tokens", "8", "--calib", calib.toString()},
            {"0", "4", "--weights", "rtn8", "--allocate", "energy", "--avg-bits", "5", "--calib", calib.toString()},
        };
        for (String[] check : checks) {
            int row = Integer.parseInt(check[0]), col = Integer.parseInt(check[1]);
            Path out = dir.resolve("cell" + row + col + ".onnx");
            List<String> args = new ArrayList<>(List.of(model.toString(), out.toString(), "-q"));
            args.addAll(List.of(check).subList(2, check.length));
            CliTest.Run rw = CliTest.cli(args.toArray(String[]::new));
            assertEquals(0, rw.code(), rw.err());
            double[] v = validateCli(model, out);
            String where = ROWS.get(row) + " × " + COLUMNS.get(col) + " (" + String.join(" ", args.subList(3, args.size())) + ")";
            assertEquals(v[0], cells[row][col].sqnrDb(), 0.005 + 1e-6, where + ": SQNR");
            assertEquals(v[1], cells[row][col].cosine(), 0.00005 + 1e-6, where + ": cosine");
        }

        String file = Files.readString(md);
        assertTrue(file.startsWith("Model: block.onnx; calibration: calib ("), file);
        assertTrue(file.endsWith(r.out()), "the file holds the printed table");
    }

    @Test
    void transformAblationHasOneRowPerTransformAndMatchesTheCli() throws Exception {
        Path model = dir.resolve("block.onnx");
        Files.write(model, TinyGraphs.encoderBlock(13, 8, 1).toByteArray());
        Path md = dir.resolve("ablation.md");
        // no --calib: W fp32 and the fixed rule need no statistics
        CliTest.Run r = CliTest.cli("table", model.toString(), "--transforms", "haar,dct,wht,identity", "--samples", "1", "--dim", "seq=48",
                "--out", md.toString(), "-q");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "-q prints only the table");
        List<String> lines = r.out().strip().lines().toList();
        assertEquals("| transform | STaMP | matched baseline | STaMP − baseline (dB) |", lines.get(0));
        assertEquals("|---|---|---|---|", lines.get(1));
        List<String> labels = List.of("haar", "dct", "wht", "identity (no transform: STaMP = baseline)");
        assertEquals(2 + labels.size(), lines.size(), r.out());
        Cell[][] cells = new Cell[labels.size()][2];
        double[] delta = new double[labels.size()];
        for (int i = 0; i < labels.size(); i++) {
            String line = lines.get(2 + i);
            String[] parts = line.substring(2, line.length() - 2).split(" \\| ", -1);
            assertEquals(4, parts.length, line);
            assertEquals(labels.get(i), parts[0]);
            for (int c = 0; c < 2; c++) {
                Matcher m = CELL.matcher(parts[1 + c]);
                assertTrue(m.matches(), "cell '" + parts[1 + c] + "' is not 'SQNR dB / cosine' in " + line);
                cells[i][c] = new Cell(Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)), m.group(1) != null);
            }
            assertTrue(parts[3].matches("[+-]\\d+\\.\\d{2}"), parts[3]);
            delta[i] = Double.parseDouble(parts[3]);
            assertEquals(cells[i][0].sqnrDb() - cells[i][1].sqnrDb(), delta[i], 0.011, "the gain column: " + line);
            assertTrue(cells[i][0].sqnrDb() > 10 && cells[i][0].sqnrDb() < 80, line);
        }
        // the matched baseline depends only on the band size, the same for every 1D transform at the same levels
        for (int i = 1; i < labels.size(); i++) assertEquals(cells[0][1], cells[i][1], "baseline of " + labels.get(i));
        // identity: STaMP inserts no transform, so it is the baseline
        assertEquals(cells[3][1].sqnrDb(), cells[3][0].sqnrDb(), 0.0);
        assertEquals(0.0, delta[3], 0.0);
        assertEquals(1, Arrays.stream(cells).flatMap(Arrays::stream).filter(Cell::bold).count(), r.out());

        // independent of PaperTable: rewrite with the CLI options each cell stands for, validate with the CLI, compare
        String[][] checks = {
            {"1", "0", "--transform", "dct"},
            {"2", "0", "--transform", "wht"},
            {"0", "0"},
            {"2", "1", "--transform", "wht", "--mode", "baseline"},
            {"3", "0", "--transform", "identity"},
        };
        for (String[] check : checks) {
            int row = Integer.parseInt(check[0]), col = Integer.parseInt(check[1]);
            Path out = dir.resolve("abl" + row + col + ".onnx");
            // the ablation's rows are W fp32 (no --weights given to table); the rewrite's own default is rtn8
            List<String> args = new ArrayList<>(List.of(model.toString(), out.toString(), "-q", "--weights", "none"));
            args.addAll(List.of(check).subList(2, check.length));
            CliTest.Run rw = CliTest.cli(args.toArray(String[]::new));
            assertEquals(0, rw.code(), rw.err());
            double[] v = validateCli(model, out);
            String where = labels.get(row) + " × " + (col == 0 ? "STaMP" : "baseline");
            assertEquals(v[0], cells[row][col].sqnrDb(), 0.005 + 1e-6, where + ": SQNR");
            assertEquals(v[1], cells[row][col].cosine(), 0.00005 + 1e-6, where + ": cosine");
        }
        String file = Files.readString(md);
        assertTrue(file.startsWith("Model: block.onnx; calibration: none; evaluation: "), file);
        assertTrue(file.endsWith(r.out()), "the file holds the printed table");

        // weights label the rows when given; a 2D or unknown transform, or GPTQ without calibration, are refused
        CliTest.Run w = CliTest.cli("table", model.toString(), "--transforms", "dct", "--weights", "rtn8", "--samples", "1", "--dim", "seq=48", "-q");
        assertEquals(0, w.code(), w.err());
        assertTrue(w.out().contains("| dct, RTN W8 | "), w.out());
        CliTest.cli("table", model.toString(), "--transforms", "haar,haar2d").failsWith(2, "(a 2D transform needs a token grid)");
        CliTest.cli("table", model.toString(), "--transforms", "dst").failsWith(2, "--transforms takes haar, dct, wht, identity, got 'dst'");
        CliTest.cli("table", model.toString(), "--transforms", "dct,dct").failsWith(2, "names a transform twice");
        CliTest.cli("table", model.toString(), "--transforms", "dct", "--weights", "gptq4").failsWith(2, "table needs --calib FILE|DIR (calibration data) for gptq8/gptq4");
    }

    @Test
    void needsCalibrationData() {
        CliTest.Run r = CliTest.cli("table", dir.resolve("m.onnx").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("table needs --calib"), r.err());
    }
}
