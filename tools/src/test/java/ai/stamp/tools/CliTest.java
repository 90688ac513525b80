package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.compiler.StampConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** User errors through the real entry point: exit code and exactly one line on stderr, never a stack trace. */
class CliTest {
    @TempDir Path dir;

    record Run(int code, String out, String err) {
        /** Asserts the code and that stderr is one line {@code stamp-onnx: error: ...} containing {@code fragment}. */
        void failsWith(int expected, String fragment) {
            assertEquals(expected, code, "exit code; stderr: " + err);
            String[] lines = err.strip().split("\\R");
            assertEquals(1, lines.length, "stderr must be one line: " + err);
            assertTrue(lines[0].startsWith("stamp-onnx: error: "), lines[0]);
            assertTrue(lines[0].contains(fragment), "'" + fragment + "' not in: " + lines[0]);
            assertFalse(err.contains("\tat "), "stack trace printed");
        }
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    private Path model() throws Exception {
        Path p = dir.resolve("in.onnx");
        Files.write(p, new byte[] {8, 7}); // content does not matter: options are checked before the model is read
        return p;
    }

    @Test
    void missingInputFile() {
        cli(dir.resolve("nope.onnx").toString(), dir.resolve("out.onnx").toString())
                .failsWith(3, "nope.onnx does not exist");
    }

    @Test
    void notAnOnnxFile() throws Exception {
        Path p = dir.resolve("notes.onnx");
        Files.writeString(p, "these are not the weights you are looking for\n");
        cli(p.toString(), dir.resolve("out.onnx").toString()).failsWith(4, "notes.onnx");
        assertFalse(Files.exists(dir.resolve("out.onnx")));
    }

    @Test
    void outputEqualToInputIsRefused() throws Exception {
        Path in = model();
        cli(in.toString(), in.toString()).failsWith(2, "is the input model");
        // also when spelled differently
        cli("rewrite", in.toString(), dir.resolve("sub/../in.onnx").toString()).failsWith(2, "is the input model");
        assertEquals(2, Files.size(in), "input untouched");
    }

    @Test
    void hiBitsOutOfRange() throws Exception {
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--hi-bits", "9").failsWith(2, "--hi-bits must be in 2..8, got 9");
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--lo-bits", "1").failsWith(2, "--lo-bits must be in 2..8, got 1");
    }

    @Test
    void badLevels() throws Exception {
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--levels", "-1").failsWith(2, "--levels");
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--levels", "three").failsWith(2, "--levels");
    }

    @Test
    void malformedGrid() throws Exception {
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--transform", "haar2d", "--grid", "14by14")
                .failsWith(2, "--grid: grid must look like HxW");
    }

    @Test
    void badExcludeRegex() throws Exception {
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--exclude", "attention(").failsWith(2,
                "--exclude 'attention(' is not a valid regular expression");
    }

    @Test
    void unknownModeAndUnknownOption() throws Exception {
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--mode", "fast").failsWith(2, "--mode must be one of stamp, baseline, transform-only");
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--frobnicate").failsWith(2, "--frobnicate");
        cli("inspect", model().toString(), "--hi-bits", "9").failsWith(2, "--hi-bits");
    }

    @Test
    void badWeightOptions() throws Exception {
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--weights", "gptq").failsWith(2, "--weights must be one of none, rtn8, rtn4, gptq8, gptq4, got 'gptq'");
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--weights", "rtn4", "--weight-block", "-8")
                .failsWith(2, "--weight-block must be > 0");
        cli(model().toString(), dir.resolve("o.onnx").toString(), "--weight-block", "many").failsWith(2, "--weight-block");
    }

    @Test
    void weightOptionsMakeTheConfig() {
        StampOptions o = new StampOptions();
        new picocli.CommandLine(o).parseArgs("--weights", "RTN4", "--weight-block", "32", "--mode", "baseline");
        ai.stamp.compiler.StampConfig c = o.toConfig();
        assertEquals(ai.stamp.compiler.StampConfig.WeightQuant.RTN4, c.weights());
        assertEquals(32, c.weightBlock());
        assertTrue(c.toString().endsWith(" weights=rtn4 weight-block=32"), c.toString());
        StampOptions rtn8 = new StampOptions();
        new picocli.CommandLine(rtn8).parseArgs("--weights", "rtn8");
        assertEquals(ai.stamp.compiler.StampConfig.WeightQuant.RTN8, rtn8.toConfig().weights());
        assertEquals(0, rtn8.toConfig().weightBlock());
    }

    @Test
    void validateOptionErrors() throws Exception {
        cli("validate", model().toString(), model().toString(), "--samples", "0").failsWith(2, "--samples");
        cli("validate", model().toString(), model().toString(), "--dim", "x").failsWith(2, "--dim");
        cli("validate", dir.resolve("a.onnx").toString(), dir.resolve("b.onnx").toString()).failsWith(3, "a.onnx does not exist");
    }

    @Test
    void everyCommandExplainsEveryOption() {
        Run top = cli("--help");
        assertEquals(0, top.code());
        for (String c : new String[] {"rewrite", "validate", "inspect", "demo"}) assertTrue(top.out().contains(c), c);
        Run rewrite = cli("rewrite", "--help");
        assertEquals(0, rewrite.code());
        for (String o : new String[] {"--mode", "--transform", "--levels", "--sink-tokens", "--hi-tokens", "--hi-bits", "--lo-bits",
                "--grid", "--exclude", "--weights", "--weight-block", "--report", "--quiet"}) {
            assertTrue(rewrite.out().contains(o), o);
        }
        Run validate = cli("validate", "--help");
        for (String o : new String[] {"--text", "--tokenizer", "--seq-len", "--samples", "--dim", "--report", "pooled", "flat"}) {
            assertTrue(validate.out().contains(o), o);
        }
        assertTrue(cli("inspect", "--help").out().contains("--exclude"));
        assertTrue(cli("demo", "--help").out().contains("--out"));
        Run table = cli("table", "--help");
        for (String o : new String[] {"--transforms", "--weights", "--levels", "--calib"}) assertTrue(table.out().contains(o), o);
        for (String id : StampConfig.transformIds()) assertTrue(rewrite.out().contains(id), "--transform help names " + id);
    }

    @Test
    void optionDefaultsMatchTheCompilerDefaults() {
        StampOptions o = new StampOptions();
        new picocli.CommandLine(o).parseArgs();
        assertEquals(ai.stamp.compiler.StampConfig.defaults().toString(), o.toConfig().toString());
    }
}
