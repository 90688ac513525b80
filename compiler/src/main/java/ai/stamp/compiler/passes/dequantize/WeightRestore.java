package ai.stamp.compiler.passes.dequantize;

/** One already-quantized weight the pass turns back into float: the plan of one of its rules. */
sealed interface WeightRestore permits QdqWeightRule.Plan, DynamicQuantMatMulRule.Plan, MatMulNBitsRule.Plan {}
