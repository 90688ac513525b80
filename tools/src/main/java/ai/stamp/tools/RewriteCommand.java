package ai.stamp.tools;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "rewrite", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Rewrites the linear layers of IN.onnx with STaMP into OUT.onnx (the default command).",
        description = {"Rewrites every linear layer (MatMul/Gemm with a constant weight) of IN.onnx with STaMP and writes",
            "OUT.onnx. The input is never modified; OUT must differ from IN. Attention MatMuls (activation x activation)",
            "are left alone. The rewritten model carries metadata_props ai.stamp.layers and ai.stamp.config, which",
            "'validate' reads. Prints a short summary (layers rewritten/skipped, output path) unless --quiet.",
            "gptq8/gptq4, --smooth and --allocate energy need calibration data (--calib FILE|DIR): the original model is",
            "run on it first, and one progress line per sample goes to stderr unless --quiet."})
final class RewriteCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN.onnx", description = "The model to rewrite.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT.onnx", description = "Where to write the rewritten model (external data, if any, goes to OUT.onnx.data).")
    Path out;

    @Mixin StampOptions options;

    @Mixin CalibrationOptions calibration;

    @Option(names = "--report", paramLabel = "FILE.json", description = "Also write the rewrite report (rewritten and skipped layers) as JSON.")
    Path report;

    @Option(names = {"-q", "--quiet"}, description = "Print nothing on success.")
    boolean quiet;

    @Option(names = "--dry-run", description = "Do everything except writing OUT: read, check, calibrate and compile in memory, "
            + "then print the per-layer listing (as 'inspect') and the summary. --report is still written.")
    boolean dryRun;

    @Option(names = "--allow-noop", description = "When no linear layer qualifies, write IN unchanged to OUT (with a warning) "
            + "instead of failing with exit code 8 (nothing to rewrite) and writing nothing.")
    boolean allowNoop;

    @Override
    public Integer call() {
        StampConfig config = options.toConfig();
        CalibrationInputs.Source calib = calibration.toSource();
        PrintWriter err = spec.commandLine().getErr();
        RewriteJob.Mode mode = dryRun ? RewriteJob.Mode.DRY_RUN : allowNoop ? RewriteJob.Mode.WRITE : RewriteJob.Mode.WRITE_IF_CHANGED;
        java.util.function.Consumer<String> toErr = line -> {
            err.println(line);
            err.flush();
        };
        RewriteJob.Outcome outcome = RewriteJob.run(in, out, config, report, calib, quiet ? null : toErr, mode, toErr);
        StampReport result = outcome.report();
        if (dryRun) {
            if (!quiet) {
                PrintWriter o = spec.commandLine().getOut();
                for (String line : InspectCommand.lines(outcome.input().proto(), result)) o.println(line);
                o.println(RewriteJob.summary(result));
                RewriteJob.decoderLine(result).ifPresent(o::println);
                o.println("config: " + config);
                o.println("dry run: " + out + " not written" + (report != null ? "; wrote report " + report : ""));
                o.flush();
            }
            return 0;
        }
        if (!quiet) {
            PrintWriter o = spec.commandLine().getOut();
            o.println("stamp-onnx: " + RewriteJob.summary(result));
            RewriteJob.decoderLine(result).ifPresent(l -> o.println("  " + l));
            o.println("  config: " + config);
            o.println("  wrote " + out + (report != null ? " and report " + report : ""));
            o.flush();
        }
        return 0;
    }
}
