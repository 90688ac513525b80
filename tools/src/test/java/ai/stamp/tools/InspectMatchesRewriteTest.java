package ai.stamp.tools;

import static ai.stamp.tools.CliTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.tools.bench.LargeModelGenerator;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * inspect and --dry-run are the rewrite's own match and plan: on an external-data model with --weights rtn8 they say
 * what rewrite does (the weights are quantized, streamed), not "stored as external data" (the bug when inspect
 * compiled without the model's folder).
 */
class InspectMatchesRewriteTest {
    @TempDir Path dir;

    @Test
    void inspectDryRunAndRewriteAgreeOnExternalDataWeights() throws Exception {
        Path in = dir.resolve("model/model.onnx");
        Files.createDirectories(in.getParent());
        LargeModelGenerator.generate(in, new LargeModelGenerator.Spec(64, 2, 7));
        Path inspectReport = dir.resolve("inspect.json"), dryReport = dir.resolve("dry.json"), rewriteReport = dir.resolve("rewrite.json");

        CliTest.Run inspect = cli("inspect", in.toString(), "--weights", "rtn8", "--report", inspectReport.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("(streamed from external data)"), inspect.out());
        assertFalse(inspect.out().contains("stored as external data"), inspect.out());

        CliTest.Run dry = cli(in.toString(), dir.resolve("dry.onnx").toString(), "--weights", "rtn8", "--dry-run", "--report", dryReport.toString());
        assertEquals(0, dry.code(), dry.err());
        assertFalse(Files.exists(dir.resolve("dry.onnx")), "a dry run writes no model");
        CliTest.Run rewrite = cli(in.toString(), dir.resolve("out.onnx").toString(), "--weights", "rtn8", "--report", rewriteReport.toString());
        assertEquals(0, rewrite.code(), rewrite.err());

        // the same layers, the same decisions, the same reasons, in all three
        for (String section : List.of("rewritten", "skipped")) {
            String expected = section(rewriteReport, section);
            assertEquals(expected, section(inspectReport, section), "inspect " + section);
            assertEquals(expected, section(dryReport, section), "dry run " + section);
        }
        assertTrue(section(rewriteReport, "rewritten").contains("W8 rtn per-channel as int8 for MatMulInteger (streamed from external data)"),
                section(rewriteReport, "rewritten"));
    }

    private static String section(Path report, String name) throws Exception {
        JsonObject o = JsonParser.parseString(Files.readString(report)).getAsJsonObject();
        return o.get(name).toString();
    }
}
