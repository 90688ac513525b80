package ai.stamp.compiler.rewrite;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.ops.StampDomain;
import ai.stamp.ops.StampOp;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Collects the model-local FunctionProtos of the ai.stamp ops a rewrite used: each once, written at the
 * model's own default opset, so the model keeps its opset and ORT inlines the bodies on any provider.
 */
public final class FunctionRegistry {
    private final int opset;
    private final Map<String, OnnxMl.FunctionProto> functions = new LinkedHashMap<>();
    private final Map<String, Integer> uses = new LinkedHashMap<>();

    FunctionRegistry(OnnxMl.ModelProto model) { this.opset = OpsetCheck.defaultOpset(model); }

    public int opset() { return opset; }

    void register(StampOp op) {
        String name = op.functionName();
        functions.computeIfAbsent(name, n -> {
            OnnxMl.FunctionProto f = op.function(opset);
            if (!f.getDomain().equals(StampDomain.NAME) || !f.getName().equals(n)) {
                throw new IllegalStateException("op " + op.opName() + " built function " + f.getDomain() + "." + f.getName() + ", expected " + n);
            }
            return f;
        });
        uses.merge(name, 1, Integer::sum); // counted once the function is known to be valid
    }

    public boolean isEmpty() { return functions.isEmpty(); }

    public Iterable<OnnxMl.FunctionProto> functions() { return functions.values(); }

    /** Function name → number of nodes calling it. */
    public Map<String, Integer> uses() { return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(uses)); }
}
