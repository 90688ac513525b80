package ai.stamp.compiler.rewrite;

/**
 * Why a rule left a node alone: a stable {@link Code} that reports and tools group by, and a detail that
 * names the tensors and says what to do.
 */
public record Refusal(Code code, String detail) {
    /** The kinds of refusal; each has a short id for reports. */
    public enum Code {
        /** The node is malformed (too few inputs or outputs). */
        MALFORMED,
        /** The second operand is computed at run time (activation × activation, e.g. attention). */
        RUNTIME_OPERAND,
        /** Both operands are constants. */
        CONSTANT_INPUTS,
        /** Left alone by {@code --exclude}. */
        EXCLUDED,
        /** Gemm with transA = 1: its rows are features, not tokens. */
        TRANSPOSED_ACTIVATION,
        /** The weight's shape is unknown, not rank 2, or has an empty axis. */
        WEIGHT_SHAPE,
        /** The activation has no usable sequence axis (rank < 2, length 1, empty, too long, pooled). */
        NO_SEQUENCE,
        /** Activation and weight shapes disagree. */
        SHAPE_MISMATCH,
        /** The weight is already quantized (QDQ, integer initializer) or the node is an integer matmul. */
        ALREADY_QUANTIZED,
        /** The weight is a graph input with a default: a caller may override it, so it is not baked. */
        OVERRIDABLE_WEIGHT,
        /** No token grid is known for a 2D transform, or the given grid does not fit. */
        NO_TOKEN_GRID,
        /** A method needs calibration statistics that are missing or were measured differently. */
        NEEDS_CALIBRATION,
        /** The config inserts nothing for this layer. */
        NOTHING_TO_INSERT,
        /** The constant's element type is not one the rule quantizes (e.g. a float16 or double table). */
        WEIGHT_TYPE,
        /** The constant is stored as external data, which the rule does not read. */
        EXTERNAL_DATA,
        /** A Gather of a constant table along an axis other than 0: not a row lookup, so per-row scales do not apply. */
        GATHER_AXIS,
        /** The constant holds NaN or an infinity, which has no int8 scale. */
        NON_FINITE_WEIGHT,
        /**
         * The MatMul/Gemm computes in a type the linear rewrite does not handle: an integer type (index arithmetic, not a
         * layer to quantize) or bfloat16 (no kernels to verify it on).
         */
        ELEMENT_TYPE;

        /** "already-quantized", for JSON reports. */
        public String id() { return name().toLowerCase().replace('_', '-'); }
    }

    public Refusal {
        if (code == null || detail == null || detail.isEmpty()) throw new IllegalArgumentException("a refusal needs a code and a detail");
    }

    @Override public String toString() { return code.id() + ": " + detail; }
}
