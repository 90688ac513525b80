package ai.stamp.compiler;

/**
 * A failure the user can act on. The message is one line that says what is wrong, with which file or
 * node, and what to do; the CLI prints it without a stack trace and exits with {@link Kind#exitCode()}.
 */
public class StampException extends RuntimeException {
    /** Categories of failure, each with its own documented exit code. */
    public enum Kind {
        BAD_OPTION(2), INPUT_MISSING(3), NOT_ONNX(4), EXTERNAL_DATA_MISSING(5), UNSUPPORTED_MODEL(6),
        ALREADY_REWRITTEN(7), NOTHING_TO_REWRITE(8), OUTPUT_NOT_WRITABLE(9), RUNTIME_FAILURE(10);

        private final int exitCode;

        Kind(int exitCode) { this.exitCode = exitCode; }

        public int exitCode() { return exitCode; }
    }

    private final Kind kind;

    public StampException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public StampException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() { return kind; }
}
