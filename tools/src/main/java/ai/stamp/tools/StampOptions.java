package ai.stamp.tools;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.Option;

/** The options that make a {@link StampConfig}, shared by {@code rewrite} and {@code inspect}. */
public final class StampOptions {
    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "stamp",
            description = "stamp: sequence transform + mixed-precision activation quantization (the method); "
                    + "baseline: no transform, the same number of high-precision tokens (matched average bits); "
                    + "transform-only: transform and inverse without quantization (reproduces the original). Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--transform", paramLabel = "KIND", defaultValue = "haar",
            description = "Sequence transform: haar (1D Haar DWT along the tokens), haar2d (2D Haar on a token grid, see --grid), "
                    + "dct (orthonormal block DCT-II), wht (Walsh-Hadamard in sequency order), identity (none). Default: ${DEFAULT-VALUE}.")
    String transform;

    @Option(names = "--levels", paramLabel = "N", defaultValue = "3",
            description = "Transform levels (0..8; haar2d 0..4): blocks of 2^N tokens (2^N x 2^N for haar2d), Haar's levels or the DCT/WHT "
                    + "block size; the band (approximation / DC coefficients) is S/2^N tokens. Default: ${DEFAULT-VALUE}.")
    int levels;

    @Option(names = "--sink-tokens", paramLabel = "N", defaultValue = "1",
            description = "Leading tokens ([CLS]/BOS, the attention sink) that bypass the transform and stay at --hi-bits. Default: ${DEFAULT-VALUE}.")
    int sinkTokens;

    @Option(names = "--hi-tokens", paramLabel = "K", defaultValue = "0",
            description = "Fixed count of high-precision tokens, sink included (the paper's 64); 0 = sink + approximation band. Default: ${DEFAULT-VALUE}.")
    int hiTokens;

    @Option(names = "--hi-bits", paramLabel = "B", defaultValue = "8",
            description = "Bits of the high-precision tokens (2..8). Default: ${DEFAULT-VALUE}.")
    int hiBits;

    @Option(names = "--lo-bits", paramLabel = "B", defaultValue = "4",
            description = "Bits of every other token (2..8). Default: ${DEFAULT-VALUE}.")
    int loBits;

    @Option(names = "--kv-bits", paramLabel = "B", defaultValue = "0",
            description = "Decoders: quantize the KV cache (K after RoPE, V) to B low bits where it is written to present and read by "
                    + "attention, with the same transform along the cache's token axis, sink, --hi-bits and --mode (simulation form); "
                    + "completed blocks are quantized, the open block stays at the model's precision. 0 = off (default).")
    int kvBits;

    @Option(names = "--grid", paramLabel = "HxW",
            description = "Token grid for --transform haar2d, e.g. 14x14 (default: taken from the graph).")
    String grid;

    @Option(names = "--exclude", paramLabel = "REGEX",
            description = "Leave MatMul/Gemm nodes (and, with --quantize-embeddings, Gather nodes) whose name matches this Java "
                    + "regular expression (find) untouched.")
    String exclude;

    @Option(names = "--weights", paramLabel = "METHOD",
            description = "Weight quantization: none (weights stay float), rtn8 or rtn4 (symmetric round-to-nearest, 8 or 4 bits), "
                    + "gptq8 or gptq4 (GPTQ from each layer's calibrated X^T X; needs --calib). Stored as int8 at every opset: "
                    + "read by the integer GEMM (--emit integer), or for the float product as DequantizeLinear (per channel "
                    + "13+, blocked or int4 21+) or Cast+Mul below 13. Default: rtn8 (none with --mode transform-only).")
    String weights;

    @Option(names = "--weight-block", paramLabel = "N", defaultValue = "0",
            description = "Weight scales: 0 = one per output channel; N > 0 = one per N consecutive input features of each channel. "
                    + "Default: ${DEFAULT-VALUE}.")
    int weightBlock;

    @Option(names = "--rotate", paramLabel = "KIND", defaultValue = "none",
            description = "Feature-axis rotation R before quantization, R^T folded into the weight: none, hadamard (orthonormal "
                    + "Hadamard of the feature size), random-hadamard (Hadamard times fixed random signs, as QuaRot). Default: ${DEFAULT-VALUE}.")
    String rotate;

    @Option(names = "--smooth", paramLabel = "ALPHA",
            description = "SmoothQuant with migration strength ALPHA in 0..1: per-channel scales from calibration, folded into the "
                    + "producer and the weight. Needs --calib. Default: off.")
    Double smooth;

    @Option(names = "--allocate", paramLabel = "RULE", defaultValue = "fixed",
            description = "Token bit allocation: fixed (sink + approximation band, or --hi-tokens, at --hi-bits, the rest at --lo-bits) "
                    + "or energy (per layer from calibrated coefficient energies under --avg-bits; needs --calib). Default: ${DEFAULT-VALUE}.")
    String allocate;

    @Option(names = "--avg-bits", paramLabel = "X",
            description = "Average activation bits per token for --allocate energy (--lo-bits <= X <= --hi-bits).")
    Double avgBits;

    @Option(names = "--inverse-at", paramLabel = "SIDE", defaultValue = "output",
            description = "Where the inverse transform runs: output (after the MatMul, the paper's form: the MatMul consumes the "
                    + "quantized coefficients), input (dequantize back to tokens first; layers reading one activation share one "
                    + "inverse) or auto (input when the layer widens, N >= D, else output). Same result in exact arithmetic. "
                    + "Default: ${DEFAULT-VALUE}.")
    String inverseAt;

    @Option(names = "--emit", paramLabel = "FORM", defaultValue = "auto",
            description = "How a quantized layer's product is emitted: integer (the deployment form: uint8 coefficients x int8 "
                    + "weights in MatMulInteger, zero-point correction and scales after it; needs --weights), simulate (float "
                    + "MatMul on fake-quantized activations and dequantized weights: the same numbers, for research and float "
                    + "weights) or auto (integer where the weight is quantized per channel, else simulate). Default: ${DEFAULT-VALUE}.")
    String emit;

    @Option(names = "--portable",
            description = "Emit only standard ONNX ops. Without it, below opset 13 the integer form quantizes with ONNX Runtime's "
                    + "com.microsoft QuantizeLinear (one pass instead of five; opset 13+ uses the standard per-axis QuantizeLinear).")
    boolean portable;

    @Option(names = "--dequantize-weights",
            description = "Already-quantized layers (weight = DequantizeLinear of an int8/uint8 constant, or DynamicQuantizeLinear + "
                    + "MatMulInteger) are turned back into float MatMul with the dequantized weight and then rewritten. Without it "
                    + "they are left alone and listed as skipped ('already quantized').")
    boolean dequantizeWeights;

    @Option(names = "--quantize-embeddings",
            description = "Embedding tables (Gather along axis 0 of a float32 [V, E] initializer) become int8 with one scale per row "
                    + "(symmetric, max|row|/127): Mul(Cast(Gather(table_int8, ids)), Gather(row_scale, ids)), standard ops only. The float "
                    + "table is dropped unless something else reads it (e.g. a tied lm_head). Off by default.")
    boolean quantizeEmbeddings;

    /** Validates the options; an invalid value throws a BAD_OPTION StampException with a one-line message. */
    public StampConfig toConfig() {
        StampConfig.Builder b = StampConfig.builder()
                .mode(parseEnum(StampConfig.Mode.class, "--mode", mode))
                .transform(transform)
                .levels(levels).sinkTokens(sinkTokens).hiTokens(hiTokens).hiBits(hiBits).loBits(loBits)
                .weights(weights == null ? null : parseEnum(StampConfig.WeightQuant.class, "--weights", weights)).weightBlock(weightBlock)
                .rotation(parseEnum(StampConfig.Rotation.class, "--rotate", rotate))
                .allocation(parseEnum(StampConfig.Allocation.class, "--allocate", allocate))
                .inverseAt(parseEnum(StampConfig.InversePlacement.class, "--inverse-at", inverseAt))
                .emit(parseEnum(StampConfig.Emit.class, "--emit", emit)).portable(portable)
                .dequantizeWeights(dequantizeWeights)
                .quantizeEmbeddings(quantizeEmbeddings).kvBits(kvBits);
        if (smooth != null) {
            if (!(smooth >= 0 && smooth <= 1)) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--smooth ALPHA must be in 0..1, got " + smooth);
            }
            b.smoothAlpha(smooth);
        }
        if (avgBits != null) {
            if (!Double.isFinite(avgBits)) throw new StampException(StampException.Kind.BAD_OPTION, "--avg-bits must be a number, got " + avgBits);
            b.avgBits(avgBits);
        }
        try {
            if (grid != null) b.grid(StampConfig.Grid.parse(grid));
        } catch (IllegalArgumentException e) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--grid: " + e.getMessage());
        }
        if (exclude != null) {
            try {
                b.exclude(Pattern.compile(exclude));
            } catch (PatternSyntaxException e) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--exclude '" + exclude + "' is not a valid regular expression: "
                        + e.getDescription() + " near index " + e.getIndex());
            }
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new StampException(StampException.Kind.BAD_OPTION, e.getMessage());
        }
    }

    private static <E extends Enum<E>> E parseEnum(Class<E> type, String option, String text) {
        String key = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(key)) return e;
        }
        StringBuilder valid = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            if (valid.length() > 0) valid.append(", ");
            valid.append(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        throw new StampException(StampException.Kind.BAD_OPTION, option + " must be one of " + valid + ", got '" + text + "'");
    }
}
