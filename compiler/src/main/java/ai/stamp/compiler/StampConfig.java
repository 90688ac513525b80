package ai.stamp.compiler;

import ai.stamp.compiler.passes.dequantize.QuantizedWeights;
import ai.stamp.compiler.passes.dequantize.WeightDequantizer;
import ai.stamp.compiler.quant.Hadamard;

import ai.stamp.ops.QuantNumerics;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Everything that decides how STaMP rewrites a model. Immutable; build with {@link #builder()}.
 * Defaults follow STAMP.md: Haar along the sequence, 3 levels, 1 sink token, the approximation band
 * at 8 bits and every detail token at 4.
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

    /** How the pass quantizes each linear layer's weight (STAMP.md section 5). */
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

        /** 8 or 4; 0 for NONE. */
        public int bits() { return bits; }

        public boolean isGptq() { return this == GPTQ8 || this == GPTQ4; }
    }

    /** Feature-axis rotation R (STAMP.md section 6): X R online, R^T folded into W offline. */
    public enum Rotation {
        NONE,
        /** Orthonormal Hadamard (Sylvester x Paley) of the feature size. */
        HADAMARD,
        /** Hadamard times a fixed pseudo-random diagonal of signs (QuaRot's randomized Hadamard). */
        RANDOM_HADAMARD
    }

    /**
     * Where L^T runs. L^T acts on tokens and W on features, so L^T(Q(LX) W) = (L^T Q(LX)) W in exact
     * arithmetic; only float rounding differs. OUTPUT is the paper's form (the MatMul consumes the
     * quantized coefficients, as an integer GEMM would). INPUT dequantizes back to the token domain first,
     * so layers reading one activation (Q, K, V) share a single inverse. AUTO picks INPUT when N >= D (the
     * inverse then runs on the narrower side, or is shared), else OUTPUT.
     */
    public enum InversePlacement { OUTPUT, INPUT, AUTO }

    /** How the tokens' bit-widths are chosen. */
    public enum Allocation {
        /** Sink + approximation band (or --hi-tokens K) at --hi-bits, the rest at --lo-bits (the paper's rule). */
        FIXED,
        /** Per layer, from calibrated coefficient energies (STAMP.md section 7), under --avg-bits. */
        ENERGY
    }

    /** Which sequence transform L is. */
    public enum TransformKind { HAAR, HAAR2D, IDENTITY }

    /** A token grid of {@code height} rows by {@code width} columns (width 0: taken from the sequence length). */
    public record Grid(int height, int width) {
        public Grid {
            if (height < 1 || width < 0) throw new IllegalArgumentException("grid must be HxW with H >= 1, got " + height + "x" + width);
        }

        /** Parses "HxW" (e.g. "14x14"). */
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
    private final TransformKind transform;
    private final int levels;
    private final int sinkTokens;
    private final int hiTokens;
    private final int hiBits;
    private final int loBits;
    private final Grid grid;
    private final Pattern exclude;
    private final WeightQuant weights;
    private final int weightBlock;
    private final Rotation rotation;
    private final double smoothAlpha;
    private final Allocation allocation;
    private final double avgBits;
    private final boolean dequantizeWeights;
    private final InversePlacement inverseAt;

    private StampConfig(Builder b) {
        this.mode = b.mode;
        this.transform = b.transform;
        this.levels = b.levels;
        this.sinkTokens = b.sinkTokens;
        this.hiTokens = b.hiTokens;
        this.hiBits = b.hiBits;
        this.loBits = b.loBits;
        this.grid = b.grid;
        this.exclude = b.exclude;
        this.weights = b.weights;
        this.weightBlock = b.weightBlock;
        this.rotation = b.rotation;
        this.smoothAlpha = b.smoothAlpha;
        this.allocation = b.allocation;
        this.avgBits = b.avgBits;
        this.inverseAt = b.inverseAt;
        this.dequantizeWeights = b.dequantizeWeights;
    }

    public static Builder builder() { return new Builder(); }

    public static StampConfig defaults() { return builder().build(); }

    public Mode mode() { return mode; }
    public TransformKind transform() { return transform; }
    public int levels() { return levels; }
    public int sinkTokens() { return sinkTokens; }
    /** Fixed count of high-precision tokens (sink included); 0 means "sink + approximation band". */
    public int hiTokens() { return hiTokens; }
    public int hiBits() { return hiBits; }
    public int loBits() { return loBits; }
    public Optional<Grid> grid() { return Optional.ofNullable(grid); }
    public Optional<Pattern> exclude() { return Optional.ofNullable(exclude); }
    public WeightQuant weights() { return weights; }
    /** 0: one weight scale per output channel; else the block size along the input dimension. */
    public int weightBlock() { return weightBlock; }
    public Rotation rotation() { return rotation; }
    /** SmoothQuant migration strength alpha in [0, 1]; negative means SmoothQuant is off. */
    public double smoothAlpha() { return smoothAlpha; }
    public boolean smooth() { return smoothAlpha >= 0; }
    public Allocation allocation() { return allocation; }
    /** Budget of average activation bits per token for {@link Allocation#ENERGY}. */
    public double avgBits() { return avgBits; }
    public InversePlacement inverseAt() { return inverseAt; }
    /**
     * Whether already-quantized weights (DequantizeLinear of an integer constant, DynamicQuantizeLinear +
     * MatMulInteger) are first turned back into float initializers and then rewritten ({@link WeightDequantizer});
     * without it such layers are skipped ({@link QuantizedWeights}).
     */
    public boolean dequantizeWeights() { return dequantizeWeights; }

    /** Whether this config needs calibration statistics (GPTQ, SmoothQuant, energy allocation). */
    public boolean needsCalibration() { return weights.isGptq() || smooth() || allocation == Allocation.ENERGY; }

    public Builder toBuilder() {
        return new Builder().mode(mode).transform(transform).levels(levels).sinkTokens(sinkTokens)
                .hiTokens(hiTokens).hiBits(hiBits).loBits(loBits).grid(grid).exclude(exclude)
                .weights(weights).weightBlock(weightBlock).rotation(rotation).smoothAlpha(smoothAlpha)
                .allocation(allocation).avgBits(avgBits).inverseAt(inverseAt).dequantizeWeights(dequantizeWeights);
    }

    @Override public String toString() {
        return "mode=" + mode.name().toLowerCase().replace('_', '-') + " transform=" + transform.name().toLowerCase()
                + " levels=" + levels + " sink-tokens=" + sinkTokens
                + " hi-tokens=" + (hiTokens == 0 ? "band" : Integer.toString(hiTokens))
                + " bits=" + hiBits + "/" + loBits + (grid == null ? "" : " grid=" + grid)
                + (exclude == null ? "" : " exclude=" + exclude.pattern())
                + (weights == WeightQuant.NONE ? "" : " weights=" + weights.name().toLowerCase())
                + (weightBlock == 0 ? "" : " weight-block=" + weightBlock)
                + (rotation == Rotation.NONE ? "" : " rotate=" + rotation.name().toLowerCase().replace('_', '-'))
                + (smooth() ? " smooth=" + smoothAlpha : "")
                + (allocation == Allocation.FIXED ? "" : " allocate=energy avg-bits=" + avgBits)
                + (inverseAt == InversePlacement.OUTPUT ? "" : " inverse-at=" + inverseAt.name().toLowerCase())
                + (dequantizeWeights ? " dequantize-weights" : "");
    }

    public static final class Builder {
        private Mode mode = Mode.STAMP;
        private TransformKind transform = TransformKind.HAAR;
        private int levels = 3;
        private int sinkTokens = 1;
        private int hiTokens = 0;
        private int hiBits = 8;
        private int loBits = 4;
        private Grid grid;
        private Pattern exclude;
        private WeightQuant weights = WeightQuant.NONE;
        private int weightBlock = 0;
        private Rotation rotation = Rotation.NONE;
        private double smoothAlpha = -1;
        private Allocation allocation = Allocation.FIXED;
        private double avgBits = Double.NaN;
        private InversePlacement inverseAt = InversePlacement.OUTPUT;
        private boolean dequantizeWeights;

        public Builder mode(Mode v) { mode = v; return this; }
        public Builder transform(TransformKind v) { transform = v; return this; }
        public Builder levels(int v) { levels = v; return this; }
        public Builder sinkTokens(int v) { sinkTokens = v; return this; }
        public Builder hiTokens(int v) { hiTokens = v; return this; }
        public Builder hiBits(int v) { hiBits = v; return this; }
        public Builder loBits(int v) { loBits = v; return this; }
        public Builder grid(Grid v) { grid = v; return this; }
        public Builder exclude(Pattern v) { exclude = v; return this; }
        public Builder weights(WeightQuant v) { weights = v; return this; }
        public Builder weightBlock(int v) { weightBlock = v; return this; }
        public Builder rotation(Rotation v) { rotation = v; return this; }
        public Builder smoothAlpha(double v) { smoothAlpha = v; return this; }
        public Builder allocation(Allocation v) { allocation = v; return this; }
        public Builder avgBits(double v) { avgBits = v; return this; }
        public Builder inverseAt(InversePlacement v) { inverseAt = v; return this; }
        public Builder dequantizeWeights(boolean v) { dequantizeWeights = v; return this; }

        /** Validates and builds; an invalid value throws IllegalArgumentException with a one-line reason. */
        public StampConfig build() {
            if (mode == null || transform == null || weights == null) throw new IllegalArgumentException("mode, transform and weights are required");
            if (levels < 0 || levels > 12) throw new IllegalArgumentException("--levels must be in 0..12, got " + levels);
            if (sinkTokens < 0) throw new IllegalArgumentException("--sink-tokens must be >= 0, got " + sinkTokens);
            if (hiTokens < 0) throw new IllegalArgumentException("--hi-tokens must be >= 0 (0 = sink + approximation band), got " + hiTokens);
            checkBits("--hi-bits", hiBits);
            checkBits("--lo-bits", loBits);
            if (weightBlock < 0) throw new IllegalArgumentException("--weight-block must be > 0 (or 0 = per output channel), got " + weightBlock);
            if (rotation == null || allocation == null || inverseAt == null) throw new IllegalArgumentException("rotation and allocation are required");
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

        private static void checkBits(String option, int bits) {
            if (bits < QuantNumerics.MIN_BITS || bits > QuantNumerics.MAX_BITS) {
                throw new IllegalArgumentException(option + " must be in " + QuantNumerics.MIN_BITS + ".." + QuantNumerics.MAX_BITS + ", got " + bits);
            }
        }
    }
}
