package ai.stamp.compiler;

/**
 * A failure the user can act on. The message is one line that says what is wrong, with which file or
 * node, and what to do; the CLI prints it without a stack trace and exits with {@link Kind#exitCode()}.
 */
public class StampException extends RuntimeException {
    /** Categories of failure, each with its own documented exit code. */
    public enum Kind {
        /** An option or config value is invalid, or options conflict. */
        BAD_OPTION(2),
        /** The input model (or another input file) does not exist or cannot be read. */
        INPUT_MISSING(3),
        /** The input is not a valid ONNX model. */
        NOT_ONNX(4),
        /** A tensor's external data file is missing. */
        EXTERNAL_DATA_MISSING(5),
        /** The model uses something the compiler does not support (e.g. its opset). */
        UNSUPPORTED_MODEL(6),
        /** The model was rewritten by stamp-onnx already. */
        ALREADY_REWRITTEN(7),
        /** No layer qualifies for the rewrite. */
        NOTHING_TO_REWRITE(8),
        /** The output (or a scratch file) cannot be written. */
        OUTPUT_NOT_WRITABLE(9),
        /** ONNX Runtime failed to run a model (validation, calibration). */
        RUNTIME_FAILURE(10),
        /**
         * The model's data cannot be rewritten: a weight read from external data holds NaN or an infinity, or values whose
         * quantized products overflow float32; or the rewritten model passes protobuf's 2 GB even with its tensors
         * written as external data. Not an option problem: the message names the tensor or the size.
         */
        MODEL_DATA(11);

        private final int exitCode;

        Kind(int exitCode) { this.exitCode = exitCode; }

        /** {@return the CLI's exit code for this kind} */
        public int exitCode() { return exitCode; }
    }

    /** The category of the failure. */
    private final Kind kind;

    /**
     * A failure of {@code kind}.
     *
     * @param kind    the category
     * @param message one line: what is wrong, where, and what to do
     */
    public StampException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    /**
     * A failure of {@code kind} caused by {@code cause}.
     *
     * @param kind    the category
     * @param message one line: what is wrong, where, and what to do
     * @param cause   the underlying exception
     */
    public StampException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    /** {@return the category, which decides the CLI's exit code} */
    public Kind kind() { return kind; }
}
