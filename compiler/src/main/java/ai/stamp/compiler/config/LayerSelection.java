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
    public LayerSelection {
        exclude = exclude == null ? Optional.empty() : exclude;
    }

    /** Whether {@code --exclude} names this node. */
    public boolean excludes(String nodeName) { return exclude.isPresent() && exclude.get().matcher(nodeName).find(); }
}
