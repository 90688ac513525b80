package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.quant.QuantizedWeight;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What happens to one layer's weight, decided before emission.
 *
 * @param form           what the MatMul will read
 * @param method         the quantization method (NONE for {@link Form#UNCHANGED} and {@link Form#FLOAT})
 * @param block          0: per output channel; else the block size along the input dimension
 * @param int4           quantized values stored as INT4 (else INT8)
 * @param streamed       the weight is external data, quantized in chunks without loading it whole
 * @param features       the feature transforms folded into the weight offline
 * @param original       what of the original weight is dropped (the parts only this layer reads)
 * @param detail         for the report ("" when the weight is unchanged and no method is on)
 * @param kept           the existing int8 values and scales stored instead of quantizing (RTN8 per channel of a QDQ
 *                       weight {@code --dequantize-weights} restored from them, see {@link ai.stamp.compiler.quant.IntegerSources})
 * @param shared         the stored weight this layer shares with others that read the same outer-scope weight with the
 *                       same plan (emitted once, into the graph that holds the original), or null
 */
public record WeightPlan(Form form, StampConfig.WeightQuant method, int block, boolean int4, boolean streamed, FeaturePlan features,
                         OriginalWeight original, String detail, Optional<QuantizedWeight> kept, SharedWeight shared) {
    /** A plan that quantizes (or not) the weight itself into a stored weight of its own. */
    public WeightPlan(Form form, StampConfig.WeightQuant method, int block, boolean int4, boolean streamed, FeaturePlan features,
                      OriginalWeight original, String detail) {
        this(form, method, block, int4, streamed, features, original, detail, Optional.empty(), null);
    }

    /** This plan storing the existing integers {@code q} as they are. */
    WeightPlan keeping(QuantizedWeight q) {
        return new WeightPlan(form, method, block, int4, streamed, features, original, detail, Optional.of(q), shared);
    }

    /** This plan with the model-level decision on its original ({@link OriginalWeight#acrossLayers}), the detail saying so. */
    WeightPlan withOriginal(OriginalWeight o) {
        String d = detail.endsWith(original.note()) && !original.note().isEmpty()
                ? detail.substring(0, detail.length() - original.note().length()) + OriginalWeight.droppedNote(o.outer().get(0).tensor()) : detail;
        return new WeightPlan(form, method, block, int4, streamed, features, o, d, kept, shared);
    }

    /** This plan, its stored weight shared as {@code s} (null: its own). */
    WeightPlan sharing(SharedWeight s) { return new WeightPlan(form, method, block, int4, streamed, features, original, detail, kept, s); }

    /** How a report detail ends when a configured method left the weight as it was: "W8 rtn per-channel skipped: REASON (weight left as it is)". */
    private static final Pattern SKIPPED = Pattern.compile("(?:^|; )W\\d+ (?:rtn|gptq)[^;]* skipped: (.+) \\(weight left as it is\\)$");

    /** The tensor the MatMul reads. */
    public enum Form {
        /** The original weight. */
        UNCHANGED,
        /** R^T diag(s) W as a new float initializer (no method). */
        FLOAT,
        /** DequantizeLinear of an integer initializer. */
        DEQUANTIZE_LINEAR,
        /** Cast + Mul of an INT8 initializer by per-channel scales (below DequantizeLinear's per-axis opset). */
        CAST_MUL,
        /** The INT8 initializer itself, its per-channel scales and column sums, for an integer GEMM (MatMulInteger). */
        INTEGER,
        /** The dequantized values as a float initializer (the opset has no DequantizeLinear for the form). */
        PRE_DEQUANTIZED
    }

    /** Whether the MatMul reads an integer weight through an integer GEMM. */
    public boolean integer() { return form == Form.INTEGER; }

    static WeightPlan unchanged(String detail) {
        return new WeightPlan(Form.UNCHANGED, StampConfig.WeightQuant.NONE, 0, false, false, FeaturePlan.NONE, OriginalWeight.KEPT, detail);
    }

    /** The weight is left as it is although method {@code tag} ("W8 rtn per-channel") is configured, for {@code reason}. */
    static WeightPlan skipped(String tag, String reason) { return unchanged(tag + " skipped: " + reason + " (weight left as it is)"); }

    /** Why a configured method left the weight of the layer with this report detail as it was, if it did. */
    public static Optional<String> skipReason(String layerDetail) {
        Matcher m = SKIPPED.matcher(layerDetail);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }
}
