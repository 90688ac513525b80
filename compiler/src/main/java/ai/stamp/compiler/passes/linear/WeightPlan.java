package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.StampConfig;

/**
 * What happens to one layer's weight, decided before emission.
 *
 * @param form           what the MatMul will read
 * @param method         the quantization method (NONE for {@link Form#UNCHANGED} and {@link Form#FLOAT})
 * @param block          0: per output channel; else the block size along the input dimension
 * @param int4           quantized values stored as INT4 (else INT8)
 * @param streamed       the weight is external data, quantized in chunks without loading it whole
 * @param features       the feature transforms folded into the weight offline
 * @param removeOriginal the original initializer is read by this layer only and is dropped
 * @param detail         for the report ("" when the weight is unchanged and no method is on)
 */
public record WeightPlan(Form form, StampConfig.WeightQuant method, int block, boolean int4, boolean streamed, FeaturePlan features,
                         boolean removeOriginal, String detail) {
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
        return new WeightPlan(Form.UNCHANGED, StampConfig.WeightQuant.NONE, 0, false, false, FeaturePlan.NONE, false, detail);
    }
}
