package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.quant.FeatureWeightTransform;
import ai.stamp.compiler.quant.Gptq;
import ai.stamp.compiler.quant.QuantizedWeight;
import ai.stamp.compiler.quant.RtnQuantizer;
import ai.stamp.compiler.quant.StreamedRtn;
import ai.stamp.compiler.rewrite.GraphEditor;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Emits the weight a layer's MatMul reads, as its {@link WeightPlan} says: W' = R^T diag(s) W computed offline
 * ({@link FeatureWeightTransform}), quantized by RTN or GPTQ (the Gram matrix transformed the same way), stored as
 * {@code DequantizeLinear} of an integer initializer (zero point omitted: symmetric) or as pre-dequantized floats;
 * an external-data weight is quantized streamed ({@link StreamedRtn}) into the scratch data file.
 */
final class WeightStage {
    static final String NAME = "weight-quantization";

    private final GraphEditor edit;
    private final CalibrationStats stats;
    private final ExternalWeights external;
    private final RotationStage rotation;

    WeightStage(GraphEditor edit, CalibrationStats stats, ExternalWeights external, RotationStage rotation) {
        this.edit = edit;
        this.stats = stats;
        this.external = external;
        this.rotation = rotation;
    }

    /** The [D, N] tensor the MatMul reads (the layer's own weight when the plan leaves it unchanged). */
    String emit(WeightPlan plan, LinearLayer layer, List<NodeProto> nodes) {
        if (plan.form() == WeightPlan.Form.UNCHANGED) return layer.weight();
        String out = plan.streamed() ? emitStreamed(plan, layer, nodes) : emitInMemory(plan, layer, nodes);
        if (plan.removeOriginal()) edit.removeInitializer(layer.weight());
        return out;
    }

    private String emitInMemory(WeightPlan plan, LinearLayer layer, List<NodeProto> nodes) {
        String w = layer.weight();
        int d = layer.features(), n = layer.outputs();
        FeatureWeightTransform transform = transformOf(plan.features(), d);
        float[] values = transform.apply(LayerWeight.valuesDN(layer), d, n);
        if (plan.form() == WeightPlan.Form.FLOAT) return edit.addInitializer(w + transform.suffix(), Tensors.floatTensor(values, d, n));
        int bits = plan.method().bits();
        QuantizedWeight q = plan.method().isGptq()
                ? Gptq.quantize(values, d, n, transform.gram(gram(layer), d), bits, plan.block())
                : RtnQuantizer.quantize(values, d, n, bits, plan.block());
        String prefix = w + transform.suffix() + "_" + kind(plan) + bits;
        if (plan.form() == WeightPlan.Form.DEQUANTIZE_LINEAR) {
            return dequantizeLinear(w, prefix, Tensors.intTensor(q.values(), plan.int4(), q.rows(), q.cols()), q, plan.block(), layer.name(), nodes);
        }
        return edit.addInitializer(prefix + "_dequantized", Tensors.floatTensor(q.dequantize(), d, n));
    }

    private String emitStreamed(WeightPlan plan, LinearLayer layer, List<NodeProto> nodes) {
        String w = layer.weight();
        TensorProto t = layer.graph().initializer(w).orElseThrow();
        int bits = plan.method().bits();
        QuantizedWeight q = StreamedRtn.quantize(external, t, layer.transposeWeight(), bits, plan.block());
        String prefix = w + "_" + kind(plan) + bits;
        if (plan.form() == WeightPlan.Form.DEQUANTIZE_LINEAR) {
            TensorProto ext = external.append(ByteBuffer.wrap(Tensors.packed(q.values(), plan.int4())),
                    plan.int4() ? TensorProto.DataType.INT4_VALUE : TensorProto.DataType.INT8_VALUE, q.rows(), q.cols());
            return dequantizeLinear(w, prefix, ext, q, plan.block(), layer.name(), nodes);
        }
        return edit.addInitializer(prefix + "_dequantized", StreamedRtn.writeDequantized(external, q));
    }

    /** {@code DequantizeLinear(values, scales)} (symmetric: no zero point) per output channel or per block; returns its output. */
    private String dequantizeLinear(String w, String prefix, TensorProto values, QuantizedWeight q, int block, String forLayer,
                                    List<NodeProto> nodes) {
        String qName = edit.addInitializer(prefix, values);
        long[] scaleDims = block == 0 ? new long[] {q.cols()} : new long[] {q.scaleRows(), q.cols()};
        String sName = edit.addInitializer(prefix + "_scale", Tensors.floatTensor(q.scales(), scaleDims));
        String out = edit.fresh(w + "_dq");
        OnnxMl.AttributeProto[] attrs = block == 0
                ? new OnnxMl.AttributeProto[] {intAttr("axis", 1)}
                : new OnnxMl.AttributeProto[] {intAttr("axis", 0), intAttr("block_size", block)};
        nodes.add(edit.node("DequantizeLinear", List.of(qName, sName), List.of(out), forLayer, attrs));
        return out;
    }

    private FeatureWeightTransform transformOf(FeaturePlan f, int d) {
        float[] scales = f.smoothing().map(SmoothingPlanner.Decision::scales).orElse(null);
        double[] r = f.rotation().isPresent() ? rotation.matrix(d) : null;
        return new FeatureWeightTransform(scales, r);
    }

    /** X^T X of the layer's input; the planner checked that calibration has it, of the right size. */
    private double[] gram(LinearLayer layer) {
        return stats.of(layer.activation()).flatMap(a -> a.gramMatrix()).orElseThrow();
    }

    private static String kind(WeightPlan plan) { return plan.method().isGptq() ? "gptq" : "rtn"; }

    private static OnnxMl.AttributeProto intAttr(String name, long value) {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT).setI(value).build();
    }
}
