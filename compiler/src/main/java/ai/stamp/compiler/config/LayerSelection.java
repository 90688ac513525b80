package ai.stamp.compiler.config;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Which layers the compile touches.
 *
 * @param exclude           MatMul/Gemm nodes whose name matches (find) are left alone
 * @param dequantizeWeights already-quantized weights are first turned back into float and then rewritten
 */
public record LayerSelection(Optional<Pattern> exclude, boolean dequantizeWeights) {
    /**
     * A null {@code exclude} is none.
     *
     * @param exclude           the pattern of node names left alone
     * @param dequantizeWeights whether already-quantized weights are rewritten
     */
    public LayerSelection {
        exclude = exclude == null ? Optional.empty() : exclude;
    }

    /**
     * {@return whether {@code --exclude} names this node}
     *
     * @param nodeName a MatMul/Gemm node's name
     */
    public boolean excludes(String nodeName) { return exclude.isPresent() && exclude.get().matcher(nodeName).find(); }
}
