package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** The evaluation-input options shared by validate, table and demo: which text, how long a window, how many windows. */
public final class EvaluationTextOptions {
    @Option(names = "--text", paramLabel = "FILE",
            description = "UTF-8 text to tokenize (default: the built-in English technical prose). Only table --perplexity takes several.")
    List<Path> texts;

    @Option(names = "--seq-len", paramLabel = "N", defaultValue = "256", description = "Tokens per window, special tokens included. Default: ${DEFAULT-VALUE}.")
    int seqLen;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "4", description = "Number of windows / random inputs. Default: ${DEFAULT-VALUE}.")
    int samples;

    /** Checks the counts and that at most one --text is given (BAD_OPTION) before any model is read. */
    void check() {
        if (texts != null && texts.size() > 1) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--text is given " + texts.size() + " times; only table --perplexity takes several");
        }
        if (seqLen < 3) throw new StampException(StampException.Kind.BAD_OPTION, "--seq-len must be >= 3, got " + seqLen);
        if (samples < 1) throw new StampException(StampException.Kind.BAD_OPTION, "--samples must be >= 1, got " + samples);
    }

    /** The --text contents, or null for the built-in text. */
    String textOrNull() {
        return texts == null ? null : read(texts.get(0));
    }

    /** The contents of a {@code --text} file; INPUT_MISSING when it is missing or unreadable. */
    static String read(Path text) {
        if (!Files.isRegularFile(text)) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "--text " + text + " does not exist or is not a file");
        }
        try {
            return Files.readString(text);
        } catch (IOException e) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "cannot read --text " + text + ": " + e.getMessage(), e);
        }
    }

    /** How the evaluation text is described in reports. */
    String describe() {
        return (texts == null ? "built-in text" : texts.get(0).getFileName().toString()) + " (" + samples + " x " + seqLen + " tokens)";
    }
}
