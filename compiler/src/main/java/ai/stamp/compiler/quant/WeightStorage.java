package ai.stamp.compiler.quant;

import java.util.Optional;

/**
 * How a quantized weight can be stored at a model's opset, decided in one place. A float product reads
 * {@code DequantizeLinear} of an INT8 initializer per output channel from opset 13 (blocked scales and INT4 values
 * from opset 21), or below 13 {@code Cast} + {@code Mul} of the INT8 initializer by its per-channel scales; only
 * blocked scales below opset 21 leave the dequantized values as a float initializer (the same numbers). An integer
 * product (MatMulInteger, opset 10) reads the INT8 initializer itself at every opset.
 */
public final class WeightStorage {
    public static final int MIN_OPSET_PER_AXIS = 13;
    public static final int MIN_OPSET_BLOCKED_AND_INT4 = 21;

    private final int opset;

    public WeightStorage(int opset) { this.opset = opset; }

    public int opset() { return opset; }

    /** Empty when a DequantizeLinear of the integer weight is expressible at this opset, else why not. */
    public Optional<String> whyNoDequantizeLinear(int bits, int block) {
        if (block > 0 && opset < MIN_OPSET_BLOCKED_AND_INT4) return Optional.of("opset " + opset + " has no blocked DequantizeLinear");
        if (opset < MIN_OPSET_PER_AXIS) return Optional.of("opset " + opset + (bits == 4 ? " has no int4" : " has no per-axis DequantizeLinear"));
        return Optional.empty();
    }

    /** Empty when the integer values can be stored (as INT8, dequantized by Cast + Mul) below DequantizeLinear's opsets. */
    public Optional<String> whyNoCastMul(int block) {
        return block > 0 ? Optional.of("opset " + opset + " has no blocked DequantizeLinear") : Optional.empty();
    }

    /** "Cast+Mul(int8)", for reports. */
    public String describeCastMul(int bits) {
        return "Cast+Mul(int8" + (bits == 4 ? ", 4-bit values" : "") + "; opset " + opset + " has no per-axis DequantizeLinear)";
    }

    /** Whether {@code bits}-bit values are stored as INT4 (else in INT8). */
    public boolean int4(int bits) { return bits == 4 && opset >= MIN_OPSET_BLOCKED_AND_INT4; }

    /** "DequantizeLinear(int8)", for reports. */
    public String describeDequantizeLinear(int bits) {
        return "DequantizeLinear(" + (int4(bits) ? "int4" : bits == 4 ? "int8; opset " + opset + " has no int4" : "int8") + ")";
    }
}
