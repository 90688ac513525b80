package ai.stamp.compiler;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.passes.cleanup.UnusedInitializersPass;
import ai.stamp.compiler.passes.embedding.EmbeddingQuantizationPass;
import ai.stamp.compiler.passes.kvcache.KvCachePass;
import ai.stamp.compiler.passes.linear.LinearLayerPass;
import ai.stamp.compiler.rewrite.FunctionRegistry;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.PassManager;
import ai.stamp.ops.StampDomain;
import com.google.gson.Gson;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every decision of a compile, made before anything is emitted: {@link #report()} says what {@link #emit()} will
 * do (without the function counts, which only emission knows). Emit at most once.
 */
public final class CompilePlan {
    private final PassManager passes;
    private final LinearLayerPass pass;
    private final LinearLayerPass.Plan plan;
    private final List<StampReport.Embedding> embeddings;
    private final List<StampReport.Skipped> skippedEmbeddings;
    private final StampConfig config;
    private final ExternalWeights external;
    private boolean emitted;
    /** {@code --kv-bits}: the cache tensors as the input model has them (for the report; emission re-plans after the layers). */
    private final java.util.Optional<KvCachePass.Plan> kvCache;

    /** {@code embeddings}: what {@code --quantize-embeddings} did (in {@code prepare}, before the linear layers were matched). */
    CompilePlan(PassManager passes, LinearLayerPass pass, LinearLayerPass.Plan plan, EmbeddingQuantizationPass.Plan embeddings,
                StampConfig config, ExternalWeights external) {
        this.passes = passes;
        this.pass = pass;
        this.plan = plan;
        this.embeddings = List.copyOf(embeddings.quantized());
        this.skippedEmbeddings = List.copyOf(embeddings.skipped());
        this.config = config;
        this.external = external;
        this.kvCache = config.kvBits() == 0 ? java.util.Optional.empty() : java.util.Optional.of(new KvCachePass(config).plan(passes.editor().current()));
        if (kvCache.isPresent() && (plan.decoder().isEmpty() || kvCache.get().sites().isEmpty())) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "--kv-bits quantizes a decoder's KV cache, and this model has "
                    + (plan.decoder().isEmpty() ? "no past KV input (e.g. past_key_values.0.key)" : "no float32 present.* output computed in its graphs"
                    + kvCache.get().skipped().stream().map(k -> "; " + k.tensor() + ": " + k.reason()).findFirst().orElse(""))
                    + ": drop --kv-bits");
        }
    }

    /** {@return what the rewrite will do: the layers it rewrites, the ones it leaves and why, the embedding tables quantized} */
    public StampReport report() { return report(Map.of(), UnusedInitializersPass.Plan.EMPTY); }

    private StampReport report(Map<String, Integer> functionUses, UnusedInitializersPass.Plan cleanup) {
        List<StampReport.RemovedInitializer> removed = new ArrayList<>();
        for (UnusedInitializersPass.Removal r : cleanup.removals()) removed.add(new StampReport.RemovedInitializer(r.graph().path(), r.name(), r.bytes()));
        return new StampReport(config.toString(), passes.editor().functions().opset(), plan.rewritten(), plan.skipped(), embeddings,
                skippedEmbeddings, functionUses, List.copyOf(removed),
                plan.decoder().map(d -> kvCache.map(k -> d.withKvCache(k.report(config))).orElse(d)).orElse(null));
    }

    /**
     * Writes the plan into the model.
     *
     * @return the rewritten model and the report
     * @throws IllegalStateException when this plan was emitted already
     */
    public StampResult emit() {
        if (emitted) throw new IllegalStateException("this plan was emitted already");
        emitted = true;
        try {
            passes.apply(pass, plan);
            if (kvCache.isPresent()) passes.run(new KvCachePass(config));
            // the functions below raise the IR version to 8: IR-3 constants listed as inputs must not become overridable
            if (!passes.editor().functions().isEmpty()) passes.editor().dropInitializerInputsBelowIr4();
            passes.editor().dropImplausibleShapeHints();
            // last: the initializers nothing reads any more (originals of shared or outer-scope weights, dequantized integers)
            UnusedInitializersPass unused = new UnusedInitializersPass();
            UnusedInitializersPass.Plan cleanup = unused.plan(passes.editor().current());
            passes.apply(unused, cleanup);
            ModelEditor editor = passes.editor();
            FunctionRegistry functions = editor.functions();
            if (!functions.isEmpty()) {
                editor.requireIrVersion(StampDomain.MIN_IR_FOR_FUNCTIONS);
                editor.importOpset(StampDomain.NAME, StampDomain.VERSION);
                importFunctionDomains(editor, functions);
            }
            List<StampReport.Layer> rewritten = plan.rewritten();
            if (!rewritten.isEmpty()) editor.putMetadata(StampMetadata.LAYERS, layersJson(rewritten));
            if (!rewritten.isEmpty() || !embeddings.isEmpty()) editor.putMetadata(StampMetadata.CONFIG, config.toString());
            OnnxMl.ModelProto model = editor.build();
            return new StampResult(model, report(new LinkedHashMap<>(functions.uses()), cleanup), external.finish());
        } catch (RuntimeException | Error e) {
            external.discard();
            throw e;
        }
    }

    /** The domains function bodies use beyond the default one (com.microsoft), imported by the model too where it lacks them. */
    private static void importFunctionDomains(ModelEditor editor, FunctionRegistry functions) {
        java.util.Set<String> have = new java.util.HashSet<>();
        for (OnnxMl.OperatorSetIdProto o : editor.current().getOpsetImportList()) have.add(o.getDomain());
        have.add(StampDomain.NAME);
        for (OnnxMl.FunctionProto f : functions.functions()) {
            for (OnnxMl.OperatorSetIdProto o : f.getOpsetImportList()) {
                if (!o.getDomain().isEmpty() && !o.getDomain().equals("ai.onnx") && have.add(o.getDomain())) editor.importOpset(o.getDomain(), o.getVersion());
            }
        }
    }

    /** {@code [{"name": node, "output": tensor}, ...]}, keys in that order every run (the model bytes depend on it). */
    private static String layersJson(List<StampReport.Layer> rewritten) {
        List<Map<String, String>> layers = new ArrayList<>();
        for (StampReport.Layer l : rewritten) {
            Map<String, String> entry = new LinkedHashMap<>();
            entry.put("name", l.name());
            entry.put("output", l.output());
            layers.add(entry);
        }
        return new Gson().toJson(layers);
    }
}
