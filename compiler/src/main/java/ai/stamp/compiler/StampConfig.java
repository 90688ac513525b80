package ai.stamp.compiler;

import ai.stamp.compiler.config.ActivationPrecision;
import ai.stamp.compiler.config.EmbeddingQuantization;
import ai.stamp.compiler.config.FeatureTransforms;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.config.SequenceTransformConfig;
import ai.stamp.compiler.config.WeightQuantization;
import ai.stamp.compiler.quant.Hadamard;
import ai.stamp.ops.HaarTransform;
import ai.stamp.ops.QuantNumerics;
import ai.stamp.ops.SequenceTransforms;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Everything that decides how STaMP rewrites a model. Immutable; build with {@link #builder()}.
 * Defaults follow docs/method.md: Haar along the sequence, 3 levels, 1 sink token, the approximation band
 * at 8 bits and every detail token at 4; weights RTN int8 per channel and the integer form, so the default output
 * is a deployable model (float weights and the simulation form on request).
 */
public final class StampConfig {
    /** What the pass inserts around each linear layer. */
    public enum Mode {
        /** Sequence transform + mixed-precision fake quantization (the method). */
        STAMP,
        /** No transform, the same number of high-precision tokens: the matched-bit baseline. */
        BASELINE,
        /** Transform and inverse only, no quantization: must reproduce the original outputs. */
        TRANSFORM_ONLY
    }

    /** How the pass quantizes each linear layer's weight (docs/method.md#weights). */
    public enum WeightQuant {
        /** Weights stay as they are (float). */
        NONE(0),
        /** Symmetric round-to-nearest, 8 bits. */
        RTN8(8),
        /** Symmetric round-to-nearest, 4 bits. */
        RTN4(4),
        /** GPTQ (needs calibration: X^T X per layer), 8 bits. */
        GPTQ8(8),
        /** GPTQ (needs calibration: X^T X per layer), 4 bits. */
        GPTQ4(4);

        private final int bits;

        WeightQuant(int bits) { this.bits = bits; }

        /** {@return the weight bit-width: 8 or 4; 0 for NONE} */
        public int bits() { return bits; }

        /** {@return whether this is GPTQ (which needs calibration statistics)} */
        public boolean isGptq() { return this == GPTQ8 || this == GPTQ4; }
    }

    /** Feature-axis rotation R (docs/method.md#feature-transforms): X R online, R^T folded into W offline. */
    public enum Rotation {
        /** No rotation. */
        NONE,
        /** Orthonormal Hadamard (Sylvester x Paley) of the feature size. */
        HADAMARD,
        /** Hadamard times a fixed pseudo-random diagonal of signs (QuaRot's randomized Hadamard). */
        RANDOM_HADAMARD
    }

    /**
     * How a quantized layer's product is emitted. INTEGER is the deployment form (docs/method.md#integer-form): the
     * quantized coefficients as uint8, an integer GEMM (MatMulInteger) against int8 weights, the zero-point
     * correction and the scales after it. SIMULATE keeps the product in float on fake-quantized activations and
     * dequantized weights (same numbers to float rounding; for research, and the only form with float weights). AUTO
     * is INTEGER wherever a layer's weight is quantized per channel, else SIMULATE.
     */
    public enum Emit {
        /** INTEGER where a layer's weight is quantized per channel, else SIMULATE. */
        AUTO,
        /** The integer GEMM (MatMulInteger) on uint8 activations and int8 weights: the deployment form. */
        INTEGER,
        /** Fake-quantized activations and dequantized weights, the product in float. */
        SIMULATE
    }

    /**
     * Where L^T runs. L^T acts on tokens and W on features, so L^T(Q(LX) W) = (L^T Q(LX)) W in exact
     * arithmetic; only float rounding differs. OUTPUT is the paper's form (the MatMul consumes the
     * quantized coefficients, as an integer GEMM would). INPUT dequantizes back to the token domain first,
     * so layers reading one activation (Q, K, V) share a single inverse. AUTO picks INPUT when N >= D (the
     * inverse then runs on the narrower side, or is shared), else OUTPUT.
     */
    public enum InversePlacement {
        /** After the MatMul, on its output (the paper's form). */
        OUTPUT,
        /** Before the MatMul, on the dequantized activation (shared by the layers that read it). */
        INPUT,
        /** INPUT when N &gt;= D, else OUTPUT. */
        AUTO
    }

    /** How the tokens' bit-widths are chosen. */
    public enum Allocation {
        /** Sink + approximation band (or --hi-tokens K) at --hi-bits, the rest at --lo-bits (the paper's rule). */
        FIXED,
        /** Per layer, from calibrated coefficient energies (docs/method.md#energy-allocation), under --avg-bits. */
        ENERGY
    }

    /**
     * The transform id that inserts no transform: every layer gets the matched-bit baseline (as {@link Mode#BASELINE})
     * of the 1D Haar geometry. The others are the ids of {@link SequenceTransforms} ("haar", "haar2d", "dct", "wht").
     */
    public static final String IDENTITY_TRANSFORM = "identity";

    /** {@return the transform ids a config accepts: the registered sequence transforms and {@link #IDENTITY_TRANSFORM}} */
    public static List<String> transformIds() {
        List<String> ids = new ArrayList<>(SequenceTransforms.ids());
        ids.add(IDENTITY_TRANSFORM);
        return ids;
    }

    /**
     * A token grid of {@code height} rows by {@code width} columns (width 0: taken from the sequence length).
     *
     * @param height rows, at least 1
     * @param width  columns; 0 = the sequence length divided by the rows
     */
    public record Grid(int height, int width) {
        /**
         * Checks the sizes; throws IllegalArgumentException when they are out of range.
         *
         * @param height rows, at least 1
         * @param width  columns, at least 0
         */
        public Grid {
            if (height < 1 || width < 0) throw new IllegalArgumentException("grid must be HxW with H >= 1, got " + height + "x" + width);
        }

        /**
         * Parses "HxW" (e.g. "14x14").
         *
         * @param text the grid as {@code --grid} takes it
         * @return the grid
         * @throws IllegalArgumentException when {@code text} is not HxW
         */
        public static Grid parse(String text) {
            String[] parts = text.trim().toLowerCase().split("x");
            if (parts.length != 2) throw new IllegalArgumentException("grid must look like HxW (e.g. 14x14), got '" + text + "'");
            try {
                return new Grid(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("grid must look like HxW (e.g. 14x14), got '" + text + "'");
            }
        }

        @Override public String toString() { return height + "x" + width; }
    }

    private final Mode mode;
    private final LayerSelection selection;
    private final SequenceTransformConfig sequence;
    private final ActivationPrecision precision;
    private final WeightQuantization weightQuantization;
    private final FeatureTransforms features;
    private final EmbeddingQuantization embeddings;
    private final Emit emit;
    private final boolean portable;
    private final int kvBits;
    /** Whether the weight method was chosen, not defaulted from the mode (so {@link #toBuilder()} keeps the default a default). */
    private final boolean weightsChosen;

    private StampConfig(Builder b) {
        this.mode = b.mode;
        this.selection = new LayerSelection(Optional.ofNullable(b.exclude), b.dequantizeWeights);
        this.sequence = new SequenceTransformConfig(b.transform, b.levels, b.sinkTokens, Optional.ofNullable(b.grid), b.inverseAt);
        this.precision = new ActivationPrecision(b.hiBits, b.loBits, b.hiTokens, b.allocation, b.avgBits);
        this.weightQuantization = new WeightQuantization(b.resolvedWeights(), b.weightBlock);
        this.features = new FeatureTransforms(b.rotation, b.smoothAlpha);
        this.embeddings = new EmbeddingQuantization(b.quantizeEmbeddings);
        this.emit = b.emit;
        this.portable = b.portable;
        this.kvBits = b.kvBits;
        this.weightsChosen = b.weights != null;
    }

    /** {@return a builder holding the defaults} */
    public static Builder builder() { return new Builder(); }

    /** {@return the default config: STaMP, Haar, 3 levels, 1 sink token, 8/4 bits, RTN int8 weights, integer form} */
    public static StampConfig defaults() { return builder().build(); }

    /** {@return what the pass inserts around each layer} */
    public Mode mode() { return mode; }

    // Each stage of the compile receives only its own part:

    /** {@return which layers are touched} */
    public LayerSelection selection() { return selection; }
    /** {@return the sequence transform} */
    public SequenceTransformConfig sequence() { return sequence; }
    /** {@return the activation bit-widths} */
    public ActivationPrecision precision() { return precision; }
    /** {@return the weight quantization} */
    public WeightQuantization weightQuantization() { return weightQuantization; }
    /** {@return SmoothQuant and rotation} */
    public FeatureTransforms features() { return features; }
    /** {@return whether embedding tables (Gather of a constant table) are quantized to int8 per row} */
    public EmbeddingQuantization embeddings() { return embeddings; }
    /** {@return the form of a quantized layer's product: integer GEMM or float simulation} */
    public Emit emit() { return emit; }
    /**
     * Whether only default-domain ONNX ops are emitted. Otherwise, below opset 13, the integer form quantizes with
     * ONNX Runtime's com.microsoft QuantizeLinear (per axis, one pass over the activation instead of five); from opset
     * 13 the standard per-axis QuantizeLinear does the same.
     *
     * @return whether only default-domain ONNX ops are emitted
     */
    public boolean portable() { return portable; }

    // The same values one by one, for the CLI and callers that read a single option:

    /** {@return the sequence transform id} */
    public String transform() { return sequence.transform(); }
    /** {@return the transform levels L: blocks of 2^L tokens} */
    public int levels() { return sequence.levels(); }
    /** {@return the leading tokens kept out of the transform, at the high bit-width} */
    public int sinkTokens() { return sequence.sinkTokens(); }
    /** {@return the fixed count of high-precision tokens (sink included); 0 means "sink + approximation band"} */
    public int hiTokens() { return precision.hiTokens(); }
    /** {@return the bit-width of the sink and the high-precision tokens} */
    public int hiBits() { return precision.hiBits(); }
    /** {@return the bit-width of every other token} */
    public int loBits() { return precision.loBits(); }
    /** {@return the token grid of a 2D transform, when given (else inferred from the graph)} */
    public Optional<Grid> grid() { return sequence.grid(); }
    /** {@return the pattern of MatMul/Gemm node names left alone, if any} */
    public Optional<Pattern> exclude() { return selection.exclude(); }
    /** {@return the weight method} */
    public WeightQuant weights() { return weightQuantization.method(); }
    /** {@return 0: one weight scale per output channel; else the block size along the input dimension} */
    public int weightBlock() { return weightQuantization.block(); }
    /** {@return the feature-axis rotation} */
    public Rotation rotation() { return features.rotation(); }
    /** {@return SmoothQuant's migration strength alpha in [0, 1]; negative means SmoothQuant is off} */
    public double smoothAlpha() { return features.smoothAlpha(); }
    /** {@return whether SmoothQuant is on} */
    public boolean smooth() { return features.smooth(); }
    /** {@return how the tokens' bit-widths are chosen} */
    public Allocation allocation() { return precision.allocation(); }
    /** {@return the budget of average activation bits per token for {@link Allocation#ENERGY} (NaN otherwise)} */
    public double avgBits() { return precision.avgBits(); }
    /** {@return where the inverse transform runs} */
    public InversePlacement inverseAt() { return sequence.inverseAt(); }
    /**
     * Whether already-quantized weights (DequantizeLinear of an integer constant, DynamicQuantizeLinear +
     * MatMulInteger) are first turned back into float initializers and then rewritten; without it such layers are
     * skipped.
     *
     * @return whether already-quantized weights are dequantized and rewritten
     */
    public boolean dequantizeWeights() { return selection.dequantizeWeights(); }
    /**
     * Whether each {@code Gather(table, indices)} of a float32 [V, E] initializer along axis 0 reads an int8 table with
     * one scale per row instead ({@code --quantize-embeddings}).
     *
     * @return whether embedding tables are quantized
     */
    public boolean quantizeEmbeddings() { return embeddings.enabled(); }

    /**
     * Low bit-width of a decoder's KV cache ({@code --kv-bits}; 0 = the cache is not quantized). K (after RoPE) and V are
     * quantized where they are written to {@code present} and read by attention, in simulation form, along the cache's
     * token axis with the activations' transform, sink, high bit-width and mode (STaMP or the matched baseline).
     *
     * @return the KV cache's low bit-width, or 0
     */
    public int kvBits() { return kvBits; }

    /** {@return whether this config needs calibration statistics (GPTQ, SmoothQuant, energy allocation)} */
    public boolean needsCalibration() { return weights().isGptq() || smooth() || allocation() == Allocation.ENERGY; }

    /** {@return a builder holding this config's values, to change some of them} */
    public Builder toBuilder() {
        return new Builder().mode(mode).transform(transform()).levels(levels()).sinkTokens(sinkTokens())
                .hiTokens(hiTokens()).hiBits(hiBits()).loBits(loBits()).grid(grid().orElse(null)).exclude(exclude().orElse(null))
                .weights(weightsChosen ? weights() : null).weightBlock(weightBlock()).rotation(rotation()).smoothAlpha(smoothAlpha())
                .allocation(allocation()).avgBits(avgBits()).inverseAt(inverseAt()).dequantizeWeights(dequantizeWeights())
                .quantizeEmbeddings(quantizeEmbeddings()).emit(emit).portable(portable).kvBits(kvBits);
    }

    /** Also the {@code ai.stamp.config} metadata of a rewritten model, so locale-independent (Locale.ROOT). */
    @Override public String toString() {
        return "mode=" + mode.name().toLowerCase(Locale.ROOT).replace('_', '-') + " transform=" + transform()
                + " levels=" + levels() + " sink-tokens=" + sinkTokens()
                + " hi-tokens=" + (hiTokens() == 0 ? "band" : Integer.toString(hiTokens()))
                + " bits=" + hiBits() + "/" + loBits() + grid().map(g -> " grid=" + g).orElse("")
                + exclude().map(e -> " exclude=" + e.pattern()).orElse("")
                + " weights=" + weights().name().toLowerCase(Locale.ROOT)
                + (weightBlock() == 0 ? "" : " weight-block=" + weightBlock())
                + (rotation() == Rotation.NONE ? "" : " rotate=" + rotation().name().toLowerCase(Locale.ROOT).replace('_', '-'))
                + (smooth() ? " smooth=" + smoothAlpha() : "")
                + (allocation() == Allocation.FIXED ? "" : " allocate=energy avg-bits=" + avgBits())
                + (inverseAt() == InversePlacement.OUTPUT ? "" : " inverse-at=" + inverseAt().name().toLowerCase(Locale.ROOT))
                + (dequantizeWeights() ? " dequantize-weights" : "")
                + (quantizeEmbeddings() ? " quantize-embeddings" : "")
                + (emit == Emit.AUTO ? "" : " emit=" + emit.name().toLowerCase(Locale.ROOT))
                + (portable ? " portable" : "")
                + (kvBits == 0 ? "" : " kv-bits=" + kvBits);
    }

    /** Most tokens per transform block (so at most a 256 x 256 matrix per op): --levels 8 in 1D, 4 for haar2d. */
    public static final int MAX_BLOCK_TOKENS = 256;

    /**
     * Builds a {@link StampConfig} fluently; every setter returns this builder, {@link #build()} validates. A builder
     * starts at the defaults, so set only what differs.
     */
    public static final class Builder {
        private Mode mode = Mode.STAMP;
        private String transform = HaarTransform.ID;
        private int levels = 3;
        private int sinkTokens = 1;
        private int hiTokens = 0;
        private int hiBits = 8;
        private int loBits = 4;
        private Grid grid;
        private Pattern exclude;
        /** Null until set: the default depends on the mode (see {@link #weights(WeightQuant)}). */
        private WeightQuant weights;
        private int weightBlock = 0;
        private Rotation rotation = Rotation.NONE;
        private double smoothAlpha = -1;
        private Allocation allocation = Allocation.FIXED;
        private double avgBits = Double.NaN;
        private InversePlacement inverseAt = InversePlacement.OUTPUT;
        private Emit emit = Emit.AUTO;
        private boolean portable;
        private boolean dequantizeWeights;
        private boolean quantizeEmbeddings;
        private int kvBits;

        /** A builder at the defaults, as {@link StampConfig#builder()} returns. */
        public Builder() {}

        /**
         * What the pass inserts around each layer (default {@link Mode#STAMP}).
         *
         * @param v the mode
         * @return this builder
         */
        public Builder mode(Mode v) { mode = v; return this; }
        /**
         * The sequence transform (default "haar").
         *
         * @param v a sequence transform id ({@link #transformIds()})
         * @return this builder
         */
        public Builder transform(String v) { transform = v; return this; }
        /**
         * The transform levels L: blocks of 2^L tokens (default 3).
         *
         * @param v 0..8 (haar2d: 0..4; at most MAX_BLOCK_TOKENS tokens per block)
         * @return this builder
         */
        public Builder levels(int v) { levels = v; return this; }
        /**
         * The leading tokens kept out of the transform and at the high bit-width (default 1).
         *
         * @param v at least 0
         * @return this builder
         */
        public Builder sinkTokens(int v) { sinkTokens = v; return this; }
        /**
         * A fixed count of high-precision tokens, sink included (default 0: the sink and the approximation band).
         *
         * @param v at least 0
         * @return this builder
         */
        public Builder hiTokens(int v) { hiTokens = v; return this; }
        /**
         * The bit-width of the sink and the high-precision tokens (default 8).
         *
         * @param v the bits
         * @return this builder
         */
        public Builder hiBits(int v) { hiBits = v; return this; }
        /**
         * The bit-width of every other token (default 4).
         *
         * @param v the bits
         * @return this builder
         */
        public Builder loBits(int v) { loBits = v; return this; }
        /**
         * The token grid of a 2D transform (default: inferred from the graph).
         *
         * @param v the grid, or null to infer it
         * @return this builder
         */
        public Builder grid(Grid v) { grid = v; return this; }
        /**
         * MatMul/Gemm nodes whose name this pattern finds are left alone (default: none).
         *
         * @param v the pattern, or null
         * @return this builder
         */
        public Builder exclude(Pattern v) { exclude = v; return this; }
        /**
         * The weight method. Default: RTN int8 per channel, so the default output is a deployable integer model; with
         * {@link Mode#TRANSFORM_ONLY} (the exactness check: no quantization at all) the weights stay float.
         *
         * @param v the weight method, or null for the mode's default
         * @return this builder
         */
        public Builder weights(WeightQuant v) { weights = v; return this; }
        /**
         * One weight scale per block of this many inputs (default 0: one scale per output channel).
         *
         * @param v the block size, or 0
         * @return this builder
         */
        public Builder weightBlock(int v) { weightBlock = v; return this; }
        /**
         * The feature-axis rotation (default none).
         *
         * @param v the rotation
         * @return this builder
         */
        public Builder rotation(Rotation v) { rotation = v; return this; }
        /**
         * SmoothQuant with this migration strength (default -1: off; needs calibration).
         *
         * @param v alpha in [0, 1], or negative for off
         * @return this builder
         */
        public Builder smoothAlpha(double v) { smoothAlpha = v; return this; }
        /**
         * How the tokens' bit-widths are chosen (default {@link Allocation#FIXED}).
         *
         * @param v the rule
         * @return this builder
         */
        public Builder allocation(Allocation v) { allocation = v; return this; }
        /**
         * The budget of average bits per token of {@link Allocation#ENERGY}.
         *
         * @param v between the low and the high bit-width
         * @return this builder
         */
        public Builder avgBits(double v) { avgBits = v; return this; }
        /**
         * Where the inverse transform runs (default {@link InversePlacement#OUTPUT}).
         *
         * @param v the placement
         * @return this builder
         */
        public Builder inverseAt(InversePlacement v) { inverseAt = v; return this; }
        /**
         * The form of a quantized layer's product (default {@link Emit#AUTO}).
         *
         * @param v the form
         * @return this builder
         */
        public Builder emit(Emit v) { emit = v; return this; }
        /**
         * Whether only default-domain ONNX ops are emitted (default false; see {@link StampConfig#portable()}).
         *
         * @param v true for default-domain ops only
         * @return this builder
         */
        public Builder portable(boolean v) { portable = v; return this; }
        /**
         * Whether already-quantized weights are turned back into float and rewritten (default false: such layers are skipped).
         *
         * @param v true to rewrite them
         * @return this builder
         */
        public Builder dequantizeWeights(boolean v) { dequantizeWeights = v; return this; }
        /**
         * {@code --quantize-embeddings}: embedding tables become int8 with one scale per row (off by default).
         *
         * @param v true to quantize them
         * @return this builder
         */
        public Builder quantizeEmbeddings(boolean v) { quantizeEmbeddings = v; return this; }
        /**
         * {@code --kv-bits B}: quantize a decoder's KV cache with B low bits (0, the default: off).
         *
         * @param v the cache's low bit-width, or 0
         * @return this builder
         */
        public Builder kvBits(int v) { kvBits = v; return this; }

        /**
         * Validates and builds.
         *
         * @return the config
         * @throws IllegalArgumentException when a value is out of range or values conflict, with a one-line reason
         */
        public StampConfig build() {
            if (mode == null || transform == null) throw new IllegalArgumentException("mode and transform are required");
            WeightQuant weights = resolvedWeights();
            if (!transformIds().contains(transform)) {
                throw new IllegalArgumentException("--transform must be one of " + String.join(", ", transformIds()) + ", got '" + transform + "'");
            }
            if (levels < 0) throw new IllegalArgumentException("--levels must be >= 0, got " + levels);
            // every transform op embeds its dense block matrix (blockTokens x blockTokens floats): 2^12 tokens made a
            // 3.5 KB model 201 MB; 256 tokens per block (a 256 KB matrix) is far beyond what STaMP's bands need
            boolean grid = SequenceTransforms.isGrid(transform);
            int maxLevels = grid ? 4 : 8;
            if (levels > maxLevels) {
                String tokens = levels > 30 ? "2^" + (grid ? 2 * levels : levels) : Long.toString(grid ? 1L << (2 * levels) : 1L << levels);
                throw new IllegalArgumentException("--levels " + levels + " makes blocks of " + tokens + " tokens, whose dense " + tokens + " x " + tokens
                        + " matrix every transform op would embed: use --levels <= " + maxLevels + " for " + transform
                        + " (at most " + MAX_BLOCK_TOKENS + " tokens per block)");
            }
            if (sinkTokens < 0) throw new IllegalArgumentException("--sink-tokens must be >= 0, got " + sinkTokens);
            if (hiTokens < 0) throw new IllegalArgumentException("--hi-tokens must be >= 0 (0 = sink + approximation band), got " + hiTokens);
            checkBits("--hi-bits", hiBits);
            checkBits("--lo-bits", loBits);
            if (kvBits != 0) checkBits("--kv-bits", kvBits);
            if (weightBlock < 0) throw new IllegalArgumentException("--weight-block must be > 0 (or 0 = per output channel), got " + weightBlock);
            if (rotation == null || allocation == null || inverseAt == null || emit == null) {
                throw new IllegalArgumentException("rotation, allocation, inverse placement and emit form are required");
            }
            if (emit == Emit.INTEGER && weights == WeightQuant.NONE) {
                throw new IllegalArgumentException("--emit integer needs quantized weights: add --weights rtn8 (or rtn4, gptq8, gptq4), or use --emit simulate");
            }
            if (emit == Emit.INTEGER && weightBlock > 0) {
                throw new IllegalArgumentException("--emit integer applies one scale per output channel after the integer GEMM: drop --weight-block, or use --emit simulate");
            }
            if (emit == Emit.INTEGER && mode == Mode.TRANSFORM_ONLY) {
                throw new IllegalArgumentException("--emit integer quantizes the activations, --mode transform-only does not: use --emit simulate");
            }
            if (smoothAlpha >= 0 && smoothAlpha > 1) throw new IllegalArgumentException("--smooth ALPHA must be in 0..1, got " + smoothAlpha);
            if (allocation == Allocation.ENERGY) {
                if (!(avgBits >= loBits && avgBits <= hiBits)) {
                    throw new IllegalArgumentException("--allocate energy needs --avg-bits X with --lo-bits <= X <= --hi-bits (" + loBits + ".." + hiBits + "), got " + avgBits);
                }
                if (hiTokens != 0) throw new IllegalArgumentException("--allocate energy chooses the high-precision tokens itself: drop --hi-tokens");
            } else if (!Double.isNaN(avgBits)) {
                throw new IllegalArgumentException("--avg-bits only applies with --allocate energy");
            }
            return new StampConfig(this);
        }

        private WeightQuant resolvedWeights() {
            return weights != null ? weights : mode == Mode.TRANSFORM_ONLY ? WeightQuant.NONE : WeightQuant.RTN8;
        }

        private static void checkBits(String option, int bits) {
            if (bits < QuantNumerics.MIN_BITS || bits > QuantNumerics.MAX_BITS) {
                throw new IllegalArgumentException(option + " must be in " + QuantNumerics.MIN_BITS + ".." + QuantNumerics.MAX_BITS + ", got " + bits);
            }
        }
    }
}
