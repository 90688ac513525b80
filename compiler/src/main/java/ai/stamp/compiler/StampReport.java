package ai.stamp.compiler;

import com.google.gson.GsonBuilder;
import java.util.List;
import java.util.Map;

/**
 * What one run of the pass did: each linear layer it rewrote, each MatMul/Gemm it left alone and why.
 * Serialised as the {@code --report} JSON (schema documented in README.md).
 */
public record StampReport(String config, int opset, List<Layer> rewritten, List<Skipped> skipped, Map<String, Integer> insertedFunctions) {

    /** A rewritten linear layer. {@code output} is the tensor whose values the layer still produces. */
    public record Layer(String name, String opType, String graph, String input, String output,
                        List<Long> weightShape, String transform, String grid, String detail) {}

    /** A MatMul/Gemm that was not rewritten, with the reason the matcher or planner gave. */
    public record Skipped(String name, String opType, String graph, String reason) {}

    public String toJson() {
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(this);
    }
}
