package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.config.WeightQuantization;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.quant.IntegerSources;
import ai.stamp.compiler.quant.QuantizedWeight;
import ai.stamp.compiler.quant.WeightStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Decides what happens to each layer's weight: the method (RTN, GPTQ with the layer's calibrated Gram matrix), the
 * storage form the opset allows ({@link WeightStorage}), whether an external-data weight is streamed, and what of the
 * original weight is dropped ({@link OriginalWeight}). A weight that folds to values of the layer's float type
 * ({@link LayerWeight}: an initializer or Constant, or a chain of shape-only ops and Cast to float over one, of this graph
 * or an outer one) is quantized; anything else is left as it is and the detail says why.
 */
record WeightPlanner(WeightQuantization config, WeightStorage storage, CalibrationStats stats, ExternalWeights external, IntegerSources integers,
                     java.util.Map<String, SharedWeight> shared) {
    /** A planner that keeps no existing integers and never shares stored weights between layers. */
    WeightPlanner(WeightQuantization config, WeightStorage storage, CalibrationStats stats, ExternalWeights external) {
        this(config, storage, stats, external, IntegerSources.NONE, null);
    }

    /** A planner that never shares stored weights between layers. */
    WeightPlanner(WeightQuantization config, WeightStorage storage, CalibrationStats stats, ExternalWeights external, IntegerSources integers) {
        this(config, storage, stats, external, integers, null);
    }

    /**
     * {@code plan} with its stored weight shared with the other layers of the model that read the same outer-scope weight
     * and plan the same stored form ({@link SharedWeight}), where there are such.
     */
    private WeightPlan share(LinearLayer layer, WeightPlan plan) {
        if (plan.form() == WeightPlan.Form.UNCHANGED || plan.streamed()) return plan;
        return SharedWeight.of(shared, layer, plan.form(), new SharedWeight.WeightPlanPart(plan.method(), plan.block(), plan.int4(), plan.features()))
                .map(plan::sharing).orElse(plan);
    }

    /**
     * The weight's plan; {@code integerProduct}: the layer's activation is quantized per token and its product may be an
     * integer GEMM, so a per-channel quantized weight is stored for MatMulInteger.
     */
    WeightPlan plan(LinearLayer layer, FeaturePlan features, boolean integerProduct) {
        StampConfig.WeightQuant method = config.method();
        if (method == StampConfig.WeightQuant.NONE && features.isIdentity()) return WeightPlan.unchanged("");
        int bits = method.bits();
        int block = config.block();
        String kind = method.isGptq() ? "gptq" : "rtn";
        String tag = "W" + bits + " " + kind + (block == 0 ? " per-channel" : " block=" + block);
        String w = layer.weight();
        Optional<TensorProto> init = layer.graph().initializer(w);
        if (external.enabled() && features.isIdentity() && init.isPresent() && ExternalWeights.isExternal(init.get())) {
            return planExternal(layer, init.get(), tag, bits, integerProduct);
        }
        String problem = LayerWeight.problem(layer);
        if (problem != null) {
            // the feature planner checks the weight too and leaves such a layer's features alone
            return method == StampConfig.WeightQuant.NONE ? WeightPlan.unchanged("") : WeightPlan.skipped(tag, problem);
        }
        OriginalWeight original = OriginalWeight.of(layer);
        if (method == StampConfig.WeightQuant.NONE) {
            return share(layer, new WeightPlan(WeightPlan.Form.FLOAT, method, 0, false, false, features, original,
                    "weight " + describe(features) + " as a new float initializer" + original.note()));
        }
        if (method.isGptq()) requireGram(layer);
        // a QDQ weight --dequantize-weights restored from int8 symmetric per-output-channel values: RTN8 per channel keeps them
        Optional<QuantizedWeight> kept = method == StampConfig.WeightQuant.RTN8 && block == 0 && features.isIdentity() && init.isPresent()
                ? integers.perOutputChannel(w, init.get(), layer.transposeWeight()) : Optional.empty();
        if (kept.isPresent()) {
            // the kept integers belong to this restored initializer: stored as this layer's own
            return quantized(method, tag + " (the QDQ weight's own int8 values and scales)", features, false, original, integerProduct).keeping(kept.get());
        }
        return share(layer, quantized(method, tag, features, false, original, integerProduct));
    }

    /** The stored form of a quantized weight: for the integer GEMM, else what the opset allows (see {@link WeightStorage}). */
    private WeightPlan quantized(StampConfig.WeightQuant method, String tag, FeaturePlan features, boolean streamed, OriginalWeight original,
                                 boolean integerProduct) {
        int bits = method.bits(), block = config.block();
        String from = streamed ? " (streamed from external data)" : "";
        String removal = original.note();
        if (integerProduct && block == 0) {
            return new WeightPlan(WeightPlan.Form.INTEGER, method, 0, false, streamed, features, original,
                    tag + " as int8 for MatMulInteger" + (bits == 4 ? " (4-bit values)" : "") + from + removal);
        }
        Optional<String> noDq = storage.whyNoDequantizeLinear(bits, block);
        if (noDq.isEmpty()) {
            return new WeightPlan(WeightPlan.Form.DEQUANTIZE_LINEAR, method, block, storage.int4(bits), streamed, features, original,
                    tag + " as " + storage.describeDequantizeLinear(bits) + from + removal);
        }
        if (storage.whyNoCastMul(block).isEmpty()) {
            return new WeightPlan(WeightPlan.Form.CAST_MUL, method, block, false, streamed, features, original,
                    tag + " as " + storage.describeCastMul(bits) + from + removal);
        }
        return new WeightPlan(WeightPlan.Form.PRE_DEQUANTIZED, method, block, false, streamed, features, original,
                tag + " as pre-dequantized float (" + noDq.get() + ")" + from + removal);
    }

    /** RTN of a float weight kept as external data, streamed; GPTQ needs the whole weight and is refused. */
    private WeightPlan planExternal(LinearLayer layer, TensorProto t, String tag, int bits, boolean integerProduct) {
        String w = layer.weight();
        if (config.method().isGptq()) {
            return WeightPlan.skipped(tag, "weight '" + w + "' is stored as external data, which GPTQ does not"
                    + " support (it needs the whole weight in memory); use --weights rtn" + bits);
        }
        String problem = externalProblem(w, t);
        if (problem != null) return WeightPlan.skipped(tag, problem);
        return quantized(config.method(), tag, FeaturePlan.NONE, true, OriginalWeight.of(layer), integerProduct);
    }

    private static String describe(FeaturePlan f) {
        return (f.rotation().isPresent() ? "Rᵀ·" : "") + (f.smoothing().isPresent() ? "diag(s)·" : "") + "W";
    }

    /** GPTQ needs the layer's X^T X from calibration, of the right size; a clear error when it is missing. */
    private void requireGram(LinearLayer layer) {
        int d = layer.features();
        StampConfig.WeightQuant method = config.method();
        double[] g = stats.of(layer.activation()).flatMap(ActivationStats::gramMatrix).orElseThrow(() -> new StampException(
                StampException.Kind.BAD_OPTION, "--weights " + method.name().toLowerCase() + " needs the Gram matrix X^T X of the input '"
                + layer.activation() + "' of layer '" + layer.name() + "', but the calibration statistics have none for it:"
                + " calibrate with Gram matrices collected, or use --weights rtn" + method.bits()));
        if (g.length != (long) d * d) {
            throw new StampException(StampException.Kind.BAD_OPTION, "the calibration Gram matrix of '" + layer.activation() + "' (layer '"
                    + layer.name() + "') has " + g.length + " values, the layer needs " + d + "x" + d + ": recalibrate this model");
        }
    }

    /** Null when {@code t} is an external float32 rank-2 tensor whose byte range exists in its file, else the problem. */
    private String externalProblem(String w, TensorProto t) {
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            return "weight '" + w + "' is " + TensorProto.DataType.forNumber(t.getDataType()) + " external data, which is streamed for float32 only";
        }
        if (t.getDimsCount() != 2) return "weight '" + w + "' has rank " + t.getDimsCount();
        long count = t.getDims(0) * t.getDims(1);
        if (count <= 0 || count > Integer.MAX_VALUE - 8) return "weight '" + w + "' has " + count + " values (external weights up to 2^31 values are quantized)";
        long bytes = count * 4;
        long length = ExternalWeights.length(t, bytes);
        if (length != bytes) return "weight '" + w + "' has external length " + length + ", its shape says " + bytes + " bytes";
        Path file = external.file(t);
        try {
            long size = Files.size(file);
            if (ExternalWeights.offset(t) + bytes > size) return "weight '" + w + "' reaches past the end of " + file;
        } catch (IOException e) {
            throw new StampException(StampException.Kind.EXTERNAL_DATA_MISSING, "cannot read external data " + file + " of weight '" + w + "': " + e.getMessage(), e);
        }
        return null;
    }
}
