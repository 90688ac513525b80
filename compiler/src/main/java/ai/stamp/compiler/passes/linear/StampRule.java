package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.rewrite.Rewriter;
import ai.stamp.ops.MixedPrecisionQdq;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.ops.StampOp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The STaMP rewrite of one linear layer (STAMP.md section 2):
 * <pre>
 *   Y = X W (+ b)   becomes   Y = L^T( Q(L X) W ) (+ b)
 * </pre>
 * L = forward sequence transform (sink tokens kept out, zero padding to whole blocks), Q = per-token
 * mixed-precision fake quantization, L^T = inverse transform with the padding cropped. The bias is
 * added after the inverse, so the Add that follows a MatMul keeps reading the same tensor name.
 * BASELINE drops L and L^T (same bits per token count); TRANSFORM_ONLY drops Q. With weight quantization
 * on, the MatMul reads the RTN- or GPTQ-quantized weight that {@link WeightEmitter} emits (any mode).
 * With feature transforms on (STAMP.md section 6), {@link FeatureTransformEmitter} first turns X into
 * X diag(1/s) R (SmoothQuant, rotation) and the weight into R^T diag(s) W, so the product is unchanged:
 * <pre>
 *   Y = L^T( Q(L X diag(1/s) R) R^T diag(s) W ) (+ b)
 * </pre>
 *
 * <p>Layers that read the same activation with the same plan (Q, K and V projections) share one
 * transform and one quantizer: the rule remembers what it emitted per graph edit.
 */
public final class StampRule {
    public static final String NAME = "StampLinearRule";

    private final Rewriter rewriter;
    private final Rewriter.GraphEdit edit;
    private final Map<String, String> sharedInputs = new HashMap<>();

    private final FeatureTransformEmitter features;
    private final WeightEmitter weights;
    private final StampConfig.InversePlacement inverseAt;

    /** The rule as a whole config asks for it, with calibration statistics where the config needs them. */
    public StampRule(Rewriter rewriter, Rewriter.GraphEdit edit, StampConfig config, int opset, CalibrationStats stats) {
        this(rewriter, edit, config, opset, stats, ExternalWeights.NONE);
    }

    /** As above; {@code external} lets weight quantization read external-data weights (and write outside the heap). */
    public StampRule(Rewriter rewriter, Rewriter.GraphEdit edit, StampConfig config, int opset, CalibrationStats stats, ExternalWeights external) {
        this.rewriter = rewriter;
        this.edit = edit;
        this.inverseAt = config.inverseAt();
        this.features = new FeatureTransformEmitter(rewriter, edit, config, stats);
        this.weights = new WeightEmitter(rewriter, edit, config.weights(), config.weightBlock(), opset, stats, external);
    }

    /**
     * Emits the rewrite of one layer; returns what happened to its input features and weight ("" when no
     * feature transform is on and weights are not quantized).
     */
    public String emit(LayerPlan plan) {
        LinearLayer layer = plan.layer();
        String name = layer.name();
        List<NodeProto> nodes = new ArrayList<>();
        String x = layer.activation();
        // X diag(1/s) R and the matching R^T diag(s) W (STAMP.md section 6); X itself when both are off
        FeatureTransformEmitter.Applied featured = features.apply(layer, nodes);
        boolean inverseFirst = plan.transforms() && inverseOnInput(layer);
        String key = shareKey(plan) + featured.shareKey() + (inverseFirst ? "|inverse-first" : "");
        String quantized = sharedInputs.get(key);
        if (quantized == null) {
            quantized = prepareInput(plan, featured.input(), nodes);
            if (inverseFirst) {
                // L^T Q(L X): back in the token domain, so the MatMul needs no inverse and readers share this one
                String restored = rewriter.fresh(x + "_stamp_dq");
                nodes.add(edit.call(SequenceTransforms.inverse(plan.transformed()), List.of(quantized, featured.input()), List.of(restored), name));
                quantized = restored;
            }
            sharedInputs.put(key, quantized);
        }
        WeightEmitter.Result w = weights.emit(layer, featured.weight(), nodes);
        String weight = w.tensor().orElse(layer.weight());
        if (w.tensor().isEmpty() && layer.transposeWeight()) {
            String wt = rewriter.fresh(weight + "_T");
            nodes.add(edit.node("Transpose", List.of(weight), List.of(wt), name, intsAttr("perm", 1, 0)));
            weight = wt;
        }
        boolean needsTail = layer.bias().isPresent() || layer.alpha() != 1f;
        String finalOut = layer.output();
        String linearOut = needsTail ? rewriter.fresh(finalOut + "_linear") : finalOut;
        if (plan.transforms() && !inverseFirst) {
            String mm = rewriter.fresh(finalOut + "_coeffs");
            nodes.add(edit.node("MatMul", List.of(quantized, weight), List.of(mm), name));
            StampOp inverse = SequenceTransforms.inverse(plan.transformed());
            nodes.add(edit.call(inverse, List.of(mm, x), List.of(linearOut), name));
        } else {
            nodes.add(edit.node("MatMul", List.of(quantized, weight), List.of(linearOut), name));
        }
        if (needsTail) emitGemmTail(layer, linearOut, finalOut, nodes);
        edit.replace(layer.node(), nodes);
        return featured.detail().isEmpty() || w.detail().isEmpty() ? featured.detail() + w.detail() : featured.detail() + "; " + w.detail();
    }

    /** Whether L^T runs on the layer's input side (see {@link StampConfig.InversePlacement}). */
    private boolean inverseOnInput(LinearLayer layer) {
        return switch (inverseAt) {
            case OUTPUT -> false;
            case INPUT -> true;
            case AUTO -> layer.weightShape().get(1) >= layer.weightShape().get(0);
        };
    }

    /** L X quantized (or each part that applies), the tensor the MatMul reads; {@code input} is X after the feature transforms. */
    private String prepareInput(LayerPlan plan, String input, List<NodeProto> nodes) {
        String name = plan.layer().name();
        String x = plan.layer().activation();
        String z = input;
        if (plan.transforms()) {
            z = rewriter.fresh(x + "_stamp_coeffs");
            nodes.add(edit.call(SequenceTransforms.forward(plan.transformed()), List.of(input), List.of(z), name));
        }
        if (!plan.quantizes()) return z;
        String levels = rewriter.fresh(x + "_stamp_levels");
        nodes.add(edit.call(plan.tokenPrecision(), List.of(z), List.of(levels), name));
        String zq = rewriter.fresh(x + "_stamp_q");
        nodes.add(edit.call(MixedPrecisionQdq.INSTANCE, List.of(z, levels), List.of(zq), name));
        return zq;
    }

    /** Gemm's alpha and C, applied after the inverse transform (the bias is not a token-mixing op). */
    private void emitGemmTail(LinearLayer layer, String linearOut, String finalOut, List<NodeProto> nodes) {
        String name = layer.name();
        String acc = linearOut;
        if (layer.alpha() != 1f) {
            String scaled = layer.bias().isPresent() ? rewriter.fresh(finalOut + "_alpha") : finalOut;
            nodes.add(edit.node("Mul", List.of(acc, scalar(layer.alpha(), name, nodes)), List.of(scaled), name));
            acc = scaled;
        }
        if (layer.bias().isPresent()) {
            String c = layer.bias().get();
            if (layer.beta() != 1f) {
                String scaledC = rewriter.fresh(c + "_beta");
                nodes.add(edit.node("Mul", List.of(c, scalar(layer.beta(), name, nodes)), List.of(scaledC), name));
                c = scaledC;
            }
            nodes.add(edit.node("Add", List.of(acc, c), List.of(finalOut), name));
        }
    }

    private String scalar(float value, String forLayer, List<NodeProto> nodes) {
        String out = rewriter.fresh(forLayer + "/stamp/const");
        OnnxMl.TensorProto t = OnnxMl.TensorProto.newBuilder().setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).addFloatData(value).build();
        nodes.add(edit.node("Constant", List.of(), List.of(out), forLayer,
                OnnxMl.AttributeProto.newBuilder().setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(t).build()));
        return out;
    }

    private static OnnxMl.AttributeProto intsAttr(String name, long... values) {
        OnnxMl.AttributeProto.Builder b = OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long v : values) b.addInts(v);
        return b.build();
    }

    /** Layers whose keys are equal read the very same quantized tensor. */
    private static String shareKey(LayerPlan plan) {
        return plan.layer().activation() + "|" + plan.mode() + "|" + plan.transformed() + "|" + plan.hiBits() + "/" + plan.loBits() + "/"
                + plan.hiTokens() + "|" + Arrays.toString(plan.coefficientBits());
    }
}
