package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How many token ids a model accepts, read from the model itself (for random ids when there is no tokenizer): the
 * rows of the embedding table — the first input of a Gather whose indices are the token-id input (directly or through
 * a Cast), an initializer or the DequantizeLinear of one — else the fixed last dimension of a {@code logits} output.
 */
public record TokenVocabulary(int size, String source) {
    private static final Set<String> PASS_THROUGH = Set.of("Cast", "DequantizeLinear", "Identity");

    /** The vocabulary of {@code model}; INPUT_MISSING (no tokenizer and no vocabulary to draw from) when none is found. */
    public static TokenVocabulary of(OnnxMl.ModelProto model) {
        OnnxMl.GraphProto g = model.getGraph();
        Map<String, OnnxMl.TensorProto> inits = new HashMap<>();
        for (OnnxMl.TensorProto t : g.getInitializerList()) inits.put(t.getName(), t);
        Map<String, OnnxMl.NodeProto> producer = new HashMap<>();
        for (OnnxMl.NodeProto n : g.getNodeList()) for (String o : n.getOutputList()) producer.put(o, n);
        for (ModelInputs.Declared d : ModelInputs.declaredInputs(model)) {
            if (!d.name().toLowerCase(Locale.ROOT).contains("input_ids")) continue;
            for (OnnxMl.NodeProto n : g.getNodeList()) {
                if (!n.getOpType().equals("Gather") || n.getInputCount() < 2 || !fedBy(n.getInput(1), d.name(), producer)) continue;
                String table = n.getInput(0);
                for (int hop = 0; hop < 3 && !inits.containsKey(table) && producer.containsKey(table)
                        && PASS_THROUGH.contains(producer.get(table).getOpType()); hop++) {
                    table = producer.get(table).getInput(0);
                }
                OnnxMl.TensorProto t = inits.get(table);
                if (t != null && t.getDimsCount() == 2 && t.getDims(0) > 0 && t.getDims(0) <= Integer.MAX_VALUE) {
                    return new TokenVocabulary((int) t.getDims(0), "the " + t.getDims(0) + " rows of embedding table '" + t.getName() + "'");
                }
            }
        }
        for (OnnxMl.ValueInfoProto v : g.getOutputList()) {
            if (!v.getName().toLowerCase(Locale.ROOT).contains("logits") || !v.getType().getTensorType().hasShape()) continue;
            List<OnnxMl.TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
            if (!dims.isEmpty() && dims.get(dims.size() - 1).getDimValue() > 0) {
                long size = dims.get(dims.size() - 1).getDimValue();
                return new TokenVocabulary((int) size, "the last dimension of output '" + v.getName() + "'");
            }
        }
        throw new StampException(StampException.Kind.INPUT_MISSING, "the model takes token ids but no tokenizer was found, and neither an "
                + "embedding Gather table nor a logits output tells its vocabulary size: give --tokenizer FILE (a HuggingFace "
                + "tokenizer.json) or put tokenizer.json beside the model");
    }

    /** True when {@code tensor} is {@code input} or a Cast/Identity of it. */
    private static boolean fedBy(String tensor, String input, Map<String, OnnxMl.NodeProto> producer) {
        for (int hop = 0; hop < 3; hop++) {
            if (tensor.equals(input)) return true;
            OnnxMl.NodeProto p = producer.get(tensor);
            if (p == null || !(p.getOpType().equals("Cast") || p.getOpType().equals("Identity")) || p.getInputCount() == 0) return false;
            tensor = p.getInput(0);
        }
        return tensor.equals(input);
    }
}
