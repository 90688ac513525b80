package ai.stamp.compiler.ir;

import com.google.common.collect.ImmutableSet;
import java.util.Set;

/** The groups of standard ops the analyses agree on, each defined once. */
public final class OpSets {
    private OpSets() {}

    /** Ops that only rearrange their first input's values (a weight may be stored transposed or reshaped). */
    public static final Set<String> SHAPE_ONLY = Set.of("Identity", "Transpose", "Reshape", "Unsqueeze", "Squeeze", "Flatten");

    /** {@link #SHAPE_ONLY} and Cast: a weight reached through them is the same weight, perhaps of another type. */
    public static final Set<String> WEIGHT_PATH = ImmutableSet.<String>builder().addAll(SHAPE_ONLY).add("Cast").build();

    /** Ops whose output is a constant when their inputs are: {@link #WEIGHT_PATH} and DequantizeLinear. */
    public static final Set<String> CONSTANT_PRESERVING = ImmutableSet.<String>builder().addAll(WEIGHT_PATH).add("DequantizeLinear").build();

    /** Element-wise ops of one tensor input: the output has the first input's shape. */
    public static final Set<String> ELEMENTWISE_UNARY = Set.of(
            "Identity", "Cast", "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Softmax",
            "LogSoftmax", "Gelu", "HardSigmoid", "HardSwish", "Clip", "Dropout", "LayerNormalization",
            "BatchNormalization", "Round", "Reciprocal", "Floor", "Ceil", "Not", "Sign", "Elu", "LeakyRelu", "Selu",
            "Softplus", "PRelu", "Mish", "InstanceNormalization", "SimplifiedLayerNormalization", "QuantizeLinear",
            "DequantizeLinear", "CumSum", "Trilu");

    /** Element-wise ops with multidirectional broadcasting of their inputs. */
    public static final Set<String> ELEMENTWISE_BROADCAST = Set.of(
            "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where", "Equal", "Less", "Greater", "LessOrEqual",
            "GreaterOrEqual", "And", "Or", "Xor", "Mod", "Sum", "Mean", "BitShift");

    /** Reductions with axes and keepdims. */
    public static final Set<String> REDUCE = Set.of(
            "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceL1", "ReduceSumSquare",
            "ReduceLogSumExp");
}
