package ai.stamp.compiler.passes.linear;

import static ai.stamp.ops.OnnxDialect.intAttr;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.rewrite.GraphEditor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Where a decoder's main graph tells how many tokens precede the current chunk (the KV cache's length P), which the
 * chunk ops read so that the sink is a position (docs/method.md#decoders-and-the-kv-cache) instead of "the first token of every call":
 * <ol>
 *   <li>{@code attention_mask} [B, P + S] and {@code input_ids} [B, S] (the Hugging Face / Optimum interface):
 *       P = mask length - ids length; it holds for any cache layout;</li>
 *   <li>else a past-KV graph input (a name with "past", rank 4, e.g. {@code past_key_values.0.key} [B, H, P, d]): P is
 *       its dim whose symbolic name mentions "past" or "seq", else dim 2 (the Optimum layout).</li>
 * </ol>
 * A graph with neither is not a decoder with a cache: every call is a whole sequence, and the encoder ops apply.
 *
 * @param inputs the graph inputs it reads
 * @param axes   for each input, the dim whose length is read (P = first - second when there are two)
 */
record PastLength(List<String> inputs, List<Integer> axes) {

    static Optional<PastLength> of(Graph main) {
        Optional<OnnxMl.ValueInfoProto> mask = input(main, "attention_mask"), ids = input(main, "input_ids");
        boolean hasPast = false;
        OnnxMl.ValueInfoProto firstPast = null;
        for (OnnxMl.ValueInfoProto in : main.proto().getInputList()) {
            if (isPastKv(in, main)) {
                hasPast = true;
                if (firstPast == null) firstPast = in;
            }
        }
        if (!hasPast) return Optional.empty();
        if (mask.isPresent() && ids.isPresent() && rank(mask.get()) == 2 && rank(ids.get()) == 2) {
            return Optional.of(new PastLength(List.of("attention_mask", "input_ids"), List.of(1, 1)));
        }
        return Optional.of(new PastLength(List.of(firstPast.getName()), List.of(sequenceAxis(firstPast))));
    }

    /** A rank-4 float graph input (not an initializer) named like a KV cache: "past" in its name. */
    private static boolean isPastKv(OnnxMl.ValueInfoProto in, Graph main) {
        String n = in.getName().toLowerCase(Locale.ROOT);
        return n.contains("past") && rank(in) == 4 && main.initializer(in.getName()).isEmpty();
    }

    private static Optional<OnnxMl.ValueInfoProto> input(Graph main, String name) {
        return main.proto().getInputList().stream().filter(i -> i.getName().equals(name) && main.initializer(name).isEmpty()).findFirst();
    }

    private static int rank(OnnxMl.ValueInfoProto v) {
        return v.getType().hasTensorType() && v.getType().getTensorType().hasShape() ? v.getType().getTensorType().getShape().getDimCount() : -1;
    }

    private static int sequenceAxis(OnnxMl.ValueInfoProto past) {
        List<OnnxMl.TensorShapeProto.Dimension> dims = past.getType().getTensorType().getShape().getDimList();
        for (int a = 0; a < dims.size(); a++) {
            String p = dims.get(a).getDimParam().toLowerCase(Locale.ROOT);
            if (p.contains("past") || p.contains("seq")) return a;
        }
        return 2;
    }

    /** How the report says where P comes from. */
    String describe() {
        return inputs.size() == 2 ? "length of " + inputs.get(0) + " - length of " + inputs.get(1)
                : "dim " + axes.get(0) + " of " + inputs.get(0);
    }

    /** Nodes computing P as a 1-element int64 tensor named {@code out} (Shape and Gather: valid at every opset). */
    List<NodeProto> emit(GraphEditor edit, String out) {
        List<NodeProto> nodes = new ArrayList<>();
        List<String> lengths = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String shape = edit.fresh(inputs.get(i) + "_shape");
            nodes.add(edit.node("Shape", List.of(inputs.get(i)), List.of(shape), "past-length"));
            String axis = edit.addInitializer("stamp_axis_" + axes.get(i), OnnxMl.TensorProto.newBuilder()
                    .setDataType(OnnxMl.TensorProto.DataType.INT64_VALUE).addDims(1).addInt64Data(axes.get(i)).build());
            String len = inputs.size() == 1 ? out : edit.fresh(inputs.get(i) + "_length");
            nodes.add(edit.node("Gather", List.of(shape, axis), List.of(len), "past-length", intAttr("axis", 0)));
            lengths.add(len);
        }
        if (inputs.size() == 2) nodes.add(edit.node("Sub", lengths, List.of(out), "past-length"));
        return nodes;
    }
}
