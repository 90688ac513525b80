package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.testmodels.RealModels;
import ai.stamp.testmodels.TinyGraphs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code table --perplexity} end to end on stories260K: one weight method, story.txt in short windows. */
class PerplexityTableTest {
    private static final List<String> COLUMNS = List.of("float", "A16 (weights only)", "baseline A4", "STaMP A4", "baseline A4 KV4", "STaMP A4 KV4");
    private static final List<String> ROWS = List.of("RTN W4", "RTN W4 + Hadamard");
    private static final int FLOAT = 0, WEIGHTS_ONLY = 1;

    @TempDir Path dir;

    @Test
    void stories260KGridOnStoryText() throws Exception {
        Path md = dir.resolve("table.md");
        String story = PerplexityRuns.story().toString();
        CliTest.Run r = CliTest.cli("table", RealModels.stories260K().toString(), "--perplexity", "--text", story, "--window", "128",
                "--weights", "rtn4", "--out", md.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("RTN W4 + Hadamard") && r.err().contains("STaMP A4 KV4"), "progress per cell on stderr: " + r.err());

        List<String> lines = r.out().strip().lines().toList();
        assertEquals("| method | " + String.join(" | ", COLUMNS.stream().map(c -> "story.txt: " + c).toList()) + " |", lines.get(0));
        assertEquals("|---|" + "---:|".repeat(COLUMNS.size()), lines.get(1));
        assertEquals(2 + ROWS.size(), lines.size(), r.out());
        double[][] ppl = new double[ROWS.size()][COLUMNS.size()];
        int bold = 0;
        double boldValue = Double.NaN;
        for (int i = 0; i < ROWS.size(); i++) {
            String[] parts = lines.get(2 + i).substring(2, lines.get(2 + i).length() - 2).split(" \\| ", -1);
            assertEquals(ROWS.get(i), parts[0]);
            for (int c = 0; c < COLUMNS.size(); c++) {
                String v = parts[1 + c];
                if (v.startsWith("**")) {
                    bold++;
                    v = v.substring(2, v.length() - 2);
                    boldValue = Double.parseDouble(v);
                }
                ppl[i][c] = Double.parseDouble(v);
            }
        }

        // the float column is the perplexity command's figure on the same text and windows, in every row
        double reference = PerplexityRuns.perplexity(PerplexityRuns.run(dir, RealModels.stories260K().toString(), "--text", story, "--window", "128"), 0);
        for (double[] row : ppl) assertEquals(reference, row[FLOAT], 0.005 + 1e-9);
        double minA4 = Double.POSITIVE_INFINITY;
        for (int i = 0; i < ROWS.size(); i++) {
            assertTrue(ppl[i][WEIGHTS_ONLY] > ppl[i][FLOAT], "4-bit weights cost perplexity: " + lines.get(2 + i));
            for (int c = 2; c < COLUMNS.size(); c++) {
                assertTrue(ppl[i][WEIGHTS_ONLY] <= ppl[i][c], "quantizing activations too cannot beat weights only: " + lines.get(2 + i));
                minA4 = Math.min(minA4, ppl[i][c]);
            }
            assertNotEquals(ppl[i][2], ppl[i][3], "STaMP and the matched baseline are different rewrites: " + lines.get(2 + i));
            assertNotEquals(ppl[i][4], ppl[i][5], lines.get(2 + i));
        }
        assertEquals(1, bold, "one bold cell per text: " + r.out());
        assertEquals(minA4, boldValue, "the bold cell is the lowest A4 perplexity");

        String written = Files.readString(md);
        assertTrue(written.startsWith("Command: `stamp-onnx table " + RealModels.stories260K() + " --perplexity"), written);
        assertTrue(written.matches("(?s).*date: \\d{4}-\\d{2}-\\d{2}\\..*"), written);
        assertTrue(written.endsWith(r.out()), "the file ends with the printed table");
    }

    @Test
    void anEncoderIsRefusedAsNotACausalLm() throws Exception {
        Path model = dir.resolve("encoder.onnx");
        Files.write(model, TinyGraphs.encoderBlock(13, 8, 1).toByteArray());
        CliTest.cli("table", model.toString(), "--perplexity", "--text", PerplexityRuns.story().toString())
                .failsWith(6, "is not a causal LM");
    }

    @Test
    void optionsOfTheOtherTablesAreRefused() {
        String story = PerplexityRuns.story().toString();
        CliTest.cli("table", "--perplexity", "--text", story, "--seq-len", "64").failsWith(2, "--seq-len does not apply with --perplexity");
        CliTest.cli("table", "--perplexity").failsWith(2, "needs --text");
        CliTest.cli("table", "--perplexity", "--text", story, "--weights", "gptq4").failsWith(2, "--calib");
        CliTest.cli("table", "--kv-bits", "4").failsWith(2, "--kv-bits applies only with --perplexity");
        CliTest.cli("validate", "a.onnx", "b.onnx", "--text", story, "--text", story).failsWith(2, "--text is given 2 times");
    }
}
