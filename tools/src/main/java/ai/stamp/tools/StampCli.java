package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * The {@code stamp-onnx} command line. {@code stamp-onnx IN.onnx OUT.onnx [options]} is short for
 * {@code stamp-onnx rewrite IN.onnx OUT.onnx [options]}. Every user error prints one line
 * {@code stamp-onnx: error: <message>} to stderr and exits with the code of its {@link StampException.Kind}.
 */
@Command(name = "stamp-onnx", mixinStandardHelpOptions = true, version = "stamp-onnx 0.1.0",
        subcommands = {RewriteCommand.class, ValidateCommand.class, InspectCommand.class, DemoCommand.class, TableCommand.class, BenchCommand.class, PerplexityCommand.class, CommandLine.HelpCommand.class},
        description = {
            "Rewrites the linear layers of an ONNX model with STaMP (sequence transform + mixed-precision",
            "activation quantization, arXiv 2510.26771).",
            "",
            "  stamp-onnx IN.onnx OUT.onnx [options]  is short for  stamp-onnx rewrite IN.onnx OUT.onnx [options]",
            "",
            "Every error prints one line 'stamp-onnx: error: <message>' to stderr. Exit codes: 0 ok, 1 internal error,",
            "2 bad option, 3 input missing, 4 not ONNX, 5 external data missing, 6 unsupported model, 7 already rewritten,",
            "8 nothing to rewrite, 9 output not writable, 10 runtime failure, 11 model data (a weight or a size).",
            "'stamp-onnx COMMAND --help' explains each command."})
public final class StampCli implements Callable<Integer> {
    static final String PREFIX = "stamp-onnx: error: ";
    private static final Set<String> TOP_LEVEL_OPTIONS = Set.of("-h", "--help", "-V", "--version");

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return StampException.Kind.BAD_OPTION.exitCode();
    }

    public static void main(String[] args) {
        int code = run(args);
        if ("1".equals(System.getenv("STAMP_PEAK_HEAP"))) {
            System.err.println("stamp-onnx: peak heap " + peakHeapBytes() + " bytes (sum of the heap pools' peak usage)");
        }
        System.exit(code);
    }

    /** Sum of the peak usage of the JVM's heap memory pools (an upper bound of the peak heap in use at any one time). */
    public static long peakHeapBytes() {
        long sum = 0;
        for (java.lang.management.MemoryPoolMXBean p : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == java.lang.management.MemoryType.HEAP) sum += p.getPeakUsage().getUsed();
        }
        return sum;
    }

    /** Runs the CLI with System.out / System.err and returns the exit code (never calls System.exit). */
    public static int run(String... args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        try {
            return run(out, err, args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** Runs the CLI writing to {@code out} and {@code err} and returns the exit code (never calls System.exit). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new StampCli());
        cl.setUsageHelpWidth(110);
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            String sub = ex.getCommandLine().getCommandName();
            err.println(PREFIX + oneLine(ex.getMessage()) + " (see '" + (sub.equals("stamp-onnx") ? "stamp-onnx" : "stamp-onnx " + sub) + " --help')");
            err.flush();
            return StampException.Kind.BAD_OPTION.exitCode();
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            err.println(PREFIX + describe(ex));
            if (Boolean.getBoolean("stamp.debug") || System.getenv("STAMP_DEBUG") != null) ex.printStackTrace(err);
            err.flush();
            return exitCode(ex);
        });
        String[] effective = args;
        if (args.length > 0 && !cl.getSubcommands().containsKey(args[0]) && !TOP_LEVEL_OPTIONS.contains(args[0])) {
            effective = new String[args.length + 1];
            effective[0] = "rewrite";
            System.arraycopy(args, 0, effective, 1, args.length);
        }
        int code = cl.execute(effective);
        out.flush();
        err.flush();
        return code;
    }

    static int exitCode(Throwable ex) {
        // options are checked where they are read and fail as BAD_OPTION there; any other exception that reaches the CLI is
        // not the user's option, so it is not reported as one (an IllegalArgumentException deep in the pass is a defect)
        if (ex instanceof StampException se) return se.kind().exitCode();
        if (ex instanceof UnsupportedOperationException) return StampException.Kind.UNSUPPORTED_MODEL.exitCode();
        return 1;
    }

    static String describe(Throwable ex) {
        if (ex instanceof StampException) return oneLine(ex.getMessage());
        String msg = ex.getMessage() == null ? "" : ": " + oneLine(ex.getMessage());
        return "internal error, " + ex.getClass().getSimpleName() + msg + " (set STAMP_DEBUG=1 for the stack trace)";
    }

    static String oneLine(String s) {
        if (s == null) return "";
        String t = s.strip();
        int nl = t.indexOf('\n');
        return (nl < 0 ? t : t.substring(0, nl)).strip();
    }

    static String[] tail(String[] a) { return Arrays.copyOfRange(a, 1, a.length); }
}
