package ai.stamp.tools;

import static ai.stamp.tools.CliTest.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The help texts read whole: no header cut off in the command list, no description line wrapped mid-phrase. */
class HelpTextTest {
    private static final int WIDTH = 110;

    private static Map<String, CommandLine> subcommands() {
        return new CommandLine(new StampCli()).getSubcommands();
    }

    /** The command list of the top-level help, one entry per command with its wrapped lines joined. */
    private static Map<String, String> commandList(String topHelp) {
        Map<String, String> entries = new java.util.LinkedHashMap<>();
        String current = null;
        boolean inList = false;
        for (String line : topHelp.lines().toList()) {
            if (line.equals("Commands:")) { inList = true; continue; }
            if (!inList) continue;
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^  (\\S+)\\s+(.*)$").matcher(line);
            if (m.matches()) {
                current = m.group(1);
                entries.put(current, m.group(2).strip());
            } else if (current != null && line.startsWith("    ")) {
                entries.put(current, entries.get(current) + " " + line.strip());
            }
        }
        return entries;
    }

    @Test
    void theTopLevelHelpListsEveryCommandWithItsWholeHeader() {
        CliTest.Run top = cli("--help");
        assertEquals(0, top.code());
        Map<String, String> list = commandList(top.out());
        for (Map.Entry<String, CommandLine> e : subcommands().entrySet()) {
            if (e.getKey().equals("help")) continue;
            String[] header = e.getValue().getCommandSpec().usageMessage().header();
            assertTrue(header.length > 0, e.getKey() + " has no header: the command list would show its first description line, cut");
            String full = String.join(" ", header).strip();
            assertEquals(full, list.get(e.getKey()), e.getKey() + " in the top-level help");
            assertTrue(full.endsWith("."), e.getKey() + " header is a sentence: " + full);
        }
    }

    @Test
    void noHelpLineIsWrappedByPicocli() {
        // every description line fits in the usage width, so picocli never wraps one mid-phrase
        List<String> tooLong = new ArrayList<>();
        List<CommandLine> all = new ArrayList<>(subcommands().values());
        all.add(new CommandLine(new StampCli()));
        for (CommandLine c : all) {
            for (String line : c.getCommandSpec().usageMessage().description()) {
                if (line.length() > WIDTH) tooLong.add(c.getCommandName() + ": " + line.length() + " chars: " + line);
            }
            for (String line : c.getCommandSpec().usageMessage().header()) {
                if (line.length() > WIDTH - 2) tooLong.add(c.getCommandName() + " header: " + line.length() + " chars: " + line);
            }
        }
        assertEquals(List.of(), tooLong);
        // and the demo's text, as printed, has no line that is a lone word left over from a wrap
        for (String line : cli("demo", "--help").out().lines().toList()) {
            assertFalse(line.matches("\\S+"), "a wrapped remnant in demo --help: '" + line + "'");
        }
    }

    @Test
    void validatesPerLayerListingLinesUpItsNumbers() {
        Validator.Report r = new Validator.Report(List.of(), List.of(
                new Validator.LayerMetric("/encoder/layer.0/attention/self/query/MatMul_a_very_long_node_name_indeed", "q_out", 12.345),
                new Validator.LayerMetric("short", "/encoder/layer.0/attention/output/dense/MatMul_output_0_also_long", 7.5),
                new Validator.LayerMetric("mid/MatMul", "o", 123.0)), List.of(), 1);
        StringWriter s = new StringWriter();
        ValidateCommand.print(new PrintWriter(s), r);
        List<String> rows = s.toString().lines().filter(l -> l.startsWith("  ")).toList();
        assertEquals(4, rows.size(), s.toString());
        int end = rows.get(0).length();
        for (String row : rows) assertEquals(end, row.length(), "the SQNR column ends in the same place:\n" + s);
    }
}
