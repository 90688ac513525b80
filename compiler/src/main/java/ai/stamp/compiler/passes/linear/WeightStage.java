package ai.stamp.compiler.passes.linear;

import static ai.stamp.ops.OnnxDialect.intAttr;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.quant.FeatureWeightTransform;
import ai.stamp.compiler.quant.Gptq;
import ai.stamp.compiler.quant.QuantizedWeight;
import ai.stamp.compiler.quant.RtnQuantizer;
import ai.stamp.compiler.quant.StreamedRtn;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.ops.FloatType;
import ai.stamp.ops.ScaledMatMulInteger;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Emits the weight a layer's MatMul reads, as its {@link WeightPlan} says: W' = R^T diag(s) W computed offline
 * ({@link FeatureWeightTransform}), quantized by RTN or GPTQ (the Gram matrix transformed the same way), stored as
 * {@code DequantizeLinear} of an integer initializer (zero point omitted: symmetric), as {@code Cast + Mul} of it below
 * opset 13, as the INT8 initializer with its column sums and scales for an integer GEMM, or as pre-dequantized floats;
 * an external-data weight is quantized streamed ({@link StreamedRtn}) into the scratch data file. What of the
 * original weight only this layer read (its initializer, a Constant or folded chain and its sources) is removed.
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

    /**
     * What the product reads: {@code tensor} the [D, N] weight (the layer's own when the plan leaves it unchanged; the
     * INT8 values for an integer GEMM); {@code values} and {@code scales} the stored integers and their scales behind it
     * (which a later reader of a shared weight dequantizes again), {@code columnSums} [N] int32 for an integer GEMM;
     * null where there are none.
     */
    record Emitted(String tensor, String values, String columnSums, String scales) {
        static Emitted of(String tensor) { return new Emitted(tensor, null, null, null); }
    }

    Emitted emit(WeightPlan plan, LinearLayer layer, List<NodeProto> nodes) {
        if (plan.form() == WeightPlan.Form.UNCHANGED) return Emitted.of(layer.weight());
        SharedWeight shared = plan.shared();
        Emitted out;
        if (shared == null) {
            out = plan.streamed() ? emitStreamed(plan, layer, edit, nodes) : emitInMemory(plan, layer, edit, nodes);
        } else if (shared.emitted().isPresent()) {
            out = reuse(plan, shared.emitted().get(), layer, nodes);
        } else {
            // the first reader stores the initializers in the graph that holds the original; later readers reuse them
            GraphEditor store = edit.model().graph(shared.owner(), NAME);
            out = plan.streamed() ? emitStreamed(plan, layer, store, nodes) : emitInMemory(plan, layer, store, nodes);
            shared.emitted(out);
        }
        plan.original().nodes().forEach(edit::remove);
        plan.original().initializers().forEach(edit::removeInitializer);
        for (ai.stamp.compiler.ir.ConstantFolder.Read r : plan.original().outer()) edit.model().graph(r.graph(), NAME).removeInitializer(r.tensor());
        return out;
    }

    /** A later reader of a shared weight: the same initializers, dequantized again in its own graph where the form does that. */
    private Emitted reuse(WeightPlan plan, Emitted shared, LinearLayer layer, List<NodeProto> nodes) {
        String w = layer.weight();
        return switch (plan.form()) {
            case DEQUANTIZE_LINEAR -> Emitted.of(atLayerType(layer, dequantizeNode(w, shared.values(), shared.scales(), plan.block(), layer.name(), nodes), nodes));
            case CAST_MUL -> Emitted.of(atLayerType(layer, castMulNodes(w, shared.values(), shared.scales(), layer.name(), nodes), nodes));
            default -> shared;
        };
    }

    private static QuantizedWeight gptq(LinearLayer layer, float[] values, double[] gram, int bits, int block) {
        try {
            return Gptq.quantize(values, layer.features(), layer.outputs(), gram, bits, block);
        } catch (IllegalArgumentException e) {
            // the Gram matrix comes from the --calib samples: one that damping cannot make positive definite is their problem
            throw new StampException(StampException.Kind.BAD_OPTION, "layer '" + layer.name() + "': " + e.getMessage()
                    + " (the --calib samples give its input degenerate statistics: add more or more varied samples, or use --weights rtn"
                    + bits + ")", e);
        }
    }

    /** {@code store}: where the initializers go (the layer's graph, or the graph holding a shared original). */
    private Emitted emitInMemory(WeightPlan plan, LinearLayer layer, GraphEditor store, List<NodeProto> nodes) {
        String w = layer.weight();
        int d = layer.features(), n = layer.outputs();
        FeatureWeightTransform transform = transformOf(plan.features(), d);
        float[] values = transform.apply(LayerWeight.valuesDN(layer), d, n);
        if (plan.form() == WeightPlan.Form.FLOAT) return Emitted.of(store.addInitializer(w + transform.suffix(), floats(layer, values, d, n)));
        int bits = plan.method().bits();
        QuantizedWeight q = plan.kept().isPresent() ? plan.kept().get() : plan.method().isGptq()
                ? gptq(layer, values, transform.gram(gram(layer), d), bits, plan.block())
                : RtnQuantizer.quantize(values, d, n, bits, plan.block());
        String prefix = w + transform.suffix() + "_" + kind(plan) + bits;
        if (plan.form() == WeightPlan.Form.PRE_DEQUANTIZED) {
            return Emitted.of(store.addInitializer(prefix + "_dequantized", floats(layer, q.dequantize(), d, n)));
        }
        return stored(plan, prefix, Tensors.intTensor(q.values(), plan.int4(), q.rows(), q.cols()), q, layer, store, nodes);
    }

    private Emitted emitStreamed(WeightPlan plan, LinearLayer layer, GraphEditor store, List<NodeProto> nodes) {
        String w = layer.weight();
        TensorProto t = layer.graph().initializer(w).orElseThrow();
        int bits = plan.method().bits();
        QuantizedWeight q = StreamedRtn.quantize(external, t, layer.transposeWeight(), bits, plan.block());
        String prefix = w + "_" + kind(plan) + bits;
        if (plan.form() == WeightPlan.Form.PRE_DEQUANTIZED) {
            return Emitted.of(store.addInitializer(prefix + "_dequantized", StreamedRtn.writeDequantized(external, q)));
        }
        TensorProto ext = external.append(ByteBuffer.wrap(Tensors.packed(q.values(), plan.int4())),
                plan.int4() ? TensorProto.DataType.INT4_VALUE : TensorProto.DataType.INT8_VALUE, q.rows(), q.cols());
        return stored(plan, prefix, ext, q, layer, store, nodes);
    }

    /** The integer values {@code values} of {@code q} in the plan's stored form. */
    private Emitted stored(WeightPlan plan, String prefix, TensorProto values, QuantizedWeight q, LinearLayer layer, GraphEditor store,
                           List<NodeProto> nodes) {
        String w = layer.weight();
        return switch (plan.form()) {
            case DEQUANTIZE_LINEAR -> {
                String qName = store.addInitializer(prefix, values);
                long[] scaleDims = plan.block() == 0 ? new long[] {q.cols()} : new long[] {q.scaleRows(), q.cols()};
                String sName = store.addInitializer(prefix + "_scale", Tensors.floatTensor(q.scales(), scaleDims));
                yield new Emitted(atLayerType(layer, dequantizeNode(w, qName, sName, plan.block(), layer.name(), nodes), nodes), qName, null, sName);
            }
            case CAST_MUL -> {
                String qName = store.addInitializer(prefix, values);
                String sName = store.addInitializer(prefix + "_scale", Tensors.floatTensor(q.scales(), q.cols()));
                yield new Emitted(atLayerType(layer, castMulNodes(w, qName, sName, layer.name(), nodes), nodes), qName, null, sName);
            }
            case INTEGER -> {
                String qName = store.addInitializer(prefix, values);
                int[] sums = ScaledMatMulInteger.columnSums(q.values(), q.rows(), q.cols());
                String sums32 = store.addInitializer(prefix + "_colsum", Tensors.int32Tensor(sums, q.cols()));
                yield new Emitted(qName, qName, sums32, store.addInitializer(prefix + "_scale", Tensors.floatTensor(q.scales(), q.cols())));
            }
            default -> throw new IllegalStateException("weight form " + plan.form() + " stores no integer values");
        };
    }

    /**
     * A float weight initializer at the layer's type: float32 as it always was; float16 / float64 values rounded from the
     * float32 computation (exact for float64, one rounding for float16, as Cast would).
     */
    private static TensorProto floats(LinearLayer layer, float[] values, int d, int n) {
        return layer.type() == FloatType.FLOAT ? Tensors.floatTensor(values, d, n) : layer.type().tensor(values, d, n);
    }

    /**
     * The dequantized float32 weight {@code dq} as the layer's MatMul reads it: itself for a float32 layer, else Cast to
     * the layer's type. Dequantizing at float32 first keeps one form per opset (DequantizeLinear has no double output
     * and float16 output only from opset 19) and rounds once, at the end; ORT folds the Cast of a constant weight.
     */
    private String atLayerType(LinearLayer layer, String dq, List<NodeProto> nodes) {
        if (layer.type() == FloatType.FLOAT) return dq;
        String out = edit.fresh(dq + "_" + layer.type().label());
        nodes.add(edit.node("Cast", List.of(dq), List.of(out), layer.name(), intAttr("to", layer.type().dataType())));
        return out;
    }

    /** {@code Mul(Cast(values, float), scales[N])}: per-channel dequantization where the opset has no per-axis DequantizeLinear. */
    private String castMulNodes(String w, String qName, String sName, String forLayer, List<NodeProto> nodes) {
        String f = edit.fresh(w + "_f");
        nodes.add(edit.node("Cast", List.of(qName), List.of(f), forLayer, intAttr("to", TensorProto.DataType.FLOAT_VALUE)));
        String out = edit.fresh(w + "_dq");
        nodes.add(edit.node("Mul", List.of(f, sName), List.of(out), forLayer));
        return out;
    }

    /** {@code DequantizeLinear(values, scales)} (symmetric: no zero point) per output channel or per block; returns its output. */
    private String dequantizeNode(String w, String qName, String sName, int block, String forLayer, List<NodeProto> nodes) {
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
        return new FeatureWeightTransform(scales, r, r == null ? null : rotation.factors(d));
    }

    /** X^T X of the layer's input; the planner checked that calibration has it, of the right size. */
    private double[] gram(LinearLayer layer) {
        return stats.of(layer.activation()).flatMap(a -> a.gramMatrix()).orElseThrow();
    }

    private static String kind(WeightPlan plan) { return plan.method().isGptq() ? "gptq" : "rtn"; }
}
