package ai.stamp.compiler;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.compiler.passes.dequantize.DequantizeWeightsPass;
import ai.stamp.compiler.quant.IntegerSources;
import ai.stamp.compiler.passes.embedding.EmbeddingQuantizationPass;
import ai.stamp.compiler.passes.linear.LayerMatches;
import ai.stamp.compiler.passes.linear.LinearLayerPass;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.PassManager;

/**
 * The public entry point: rewrites every linear layer of a model with STaMP as {@code config} says.
 * <pre>{@code
 * LoadedModel in = ModelFile.read(Path.of("model.onnx"));
 * StampResult r = StampCompiler.compile(in, StampConfig.builder().hiBits(8).loBits(4).build());
 * ModelFile.write(r, in.directory(), Path.of("model.stamp.onnx"));
 * System.out.println(r.report().summary());
 * }</pre>
 * The input proto is not modified. Nested If/Loop/Scan bodies are rewritten too. The model keeps its
 * default opset; its IR version is raised to 8 only when functions were added (they need it).
 *
 * <p>The compile runs in two steps that callers may take apart: {@link #prepare} runs the passes before the
 * linear-layer rewrite (dequantizing weights) and matches every node once, which is also what calibration reads
 * ({@link Compilation#calibrationTensors()}); {@link Compilation#plan} decides everything for every layer, and
 * {@link CompilePlan#report()} is what {@code inspect} and {@code --dry-run} print; {@link CompilePlan#emit()}
 * writes the plan into the model.
 */
public final class StampCompiler {
    private StampCompiler() {}

    /**
     * Rewrites {@code model} as {@code config} says, without calibration statistics. Weights stored as external data
     * are left as they are (not quantized); {@link #compile(LoadedModel, StampConfig)} quantizes them too.
     *
     * @param model  the model; not modified
     * @param config how to rewrite it
     * @return the rewritten model and the report
     * @throws StampException when the model cannot be compiled as configured (unsupported opset, a config that needs
     *                        calibration statistics, ...)
     */
    public static StampResult compile(OnnxMl.ModelProto model, StampConfig config) {
        return compile(model, config, CalibrationStats.NONE);
    }

    /**
     * Rewrites a model read by {@link ModelFile#read}, as the command line does: weights stored as external data
     * beside it are read from its folder and quantized too, their new values kept in a scratch data file in
     * {@code java.io.tmpdir} until {@link ModelFile#write(StampResult, java.nio.file.Path, java.nio.file.Path)}
     * copies them into the output (or {@link StampResult#deleteScratch()} drops them).
     *
     * @param model  the model as read; not modified
     * @param config how to rewrite it
     * @return the rewritten model and the report
     * @throws StampException when the model cannot be compiled as configured
     */
    public static StampResult compile(LoadedModel model, StampConfig config) {
        return compile(model.proto(), config, CalibrationStats.NONE, ExternalWeights.of(model.directory()));
    }

    /**
     * As {@link #compile(OnnxMl.ModelProto, StampConfig)}, with calibration statistics of the model (GPTQ, SmoothQuant,
     * energy allocation).
     *
     * @param model  the model; not modified
     * @param config how to rewrite it
     * @param stats  calibration statistics of the model (after {@link #prepare}), or {@link CalibrationStats#NONE}
     * @return the rewritten model and the report
     */
    public static StampResult compile(OnnxMl.ModelProto model, StampConfig config, CalibrationStats stats) {
        return compile(model, config, stats, ExternalWeights.NONE);
    }

    /**
     * As above, quantizing (RTN) weights stored as external data too ({@code external}: where they are read and where
     * their quantized values go until {@link ai.stamp.compiler.io.ModelFile#write(StampResult, java.nio.file.Path, java.nio.file.Path)}
     * copies them; {@link ExternalWeights#NONE} leaves them as they are).
     *
     * @param model    the model; not modified
     * @param config   how to rewrite it
     * @param stats    calibration statistics, or {@link CalibrationStats#NONE}
     * @param external where external data is read and quantized weights wait, or {@link ExternalWeights#NONE}
     * @return the rewritten model and the report
     */
    public static StampResult compile(OnnxMl.ModelProto model, StampConfig config, CalibrationStats stats, ExternalWeights external) {
        return prepare(model, config, external).plan(stats).emit();
    }

    /**
     * Checks the model, runs the passes before the linear-layer rewrite ({@code --dequantize-weights}, then
     * {@code --quantize-embeddings}), and matches every node.
     *
     * @param model    the model; not modified
     * @param config   how to rewrite it
     * @param external where external data is read and quantized weights wait, or {@link ExternalWeights#NONE}
     * @return the prepared model, to calibrate and plan
     * @throws StampException when the model's opset is not supported
     */
    public static Compilation prepare(OnnxMl.ModelProto model, StampConfig config, ExternalWeights external) {
        OpsetCheck.requireSupported(model, "the model");
        ai.stamp.compiler.ir.GraphValidation.requireValid(model, "the model");
        ModelEditor editor = new ModelEditor(model);
        PassManager passes = new PassManager(editor);
        OnnxMl.ModelProto prepared = model;
        IntegerSources integers = IntegerSources.NONE;
        if (config.dequantizeWeights()) {
            DequantizeWeightsPass pass = new DequantizeWeightsPass(config.selection());
            DequantizeWeightsPass.Plan plan = pass.plan(model);
            integers = plan.integers();
            prepared = passes.apply(pass, plan);
        }
        EmbeddingQuantizationPass.Plan embeddings = EmbeddingQuantizationPass.Plan.EMPTY;
        if (config.quantizeEmbeddings()) {
            EmbeddingQuantizationPass pass = new EmbeddingQuantizationPass(config.selection());
            embeddings = pass.plan(prepared);
            prepared = passes.apply(pass, embeddings);
        }
        return new Compilation(passes, prepared, LayerMatches.of(prepared, config.selection()), embeddings, config, external, integers);
    }

    /** A model ready for the linear-layer rewrite, with the matcher's verdict on every node. */
    public static final class Compilation {
        private final PassManager passes;
        private final OnnxMl.ModelProto model;
        private final LayerMatches matches;
        private final EmbeddingQuantizationPass.Plan embeddings;
        private final StampConfig config;
        private final ExternalWeights external;
        /** The restored QDQ weights' own integers (--dequantize-weights), kept when RTN8 per channel re-quantizes them. */
        private final IntegerSources integers;

        private Compilation(PassManager passes, OnnxMl.ModelProto model, LayerMatches matches, EmbeddingQuantizationPass.Plan embeddings,
                            StampConfig config, ExternalWeights external, IntegerSources integers) {
            this.integers = integers;
            this.passes = passes;
            this.model = model;
            this.matches = matches;
            this.embeddings = embeddings;
            this.config = config;
            this.external = external;
        }

        /**
         * The model the linear layers are matched in (after {@code --dequantize-weights} and {@code --quantize-embeddings}):
         * what calibration runs.
         *
         * @return the prepared model
         */
        public OnnxMl.ModelProto model() { return model; }

        /** {@return the input tensors of the main graph's linear layers, in graph order: what calibration collects} */
        public java.util.List<String> calibrationTensors() { return matches.mainGraphActivations(); }

        /**
         * Every decision for every layer, made with {@code stats}.
         *
         * @param stats calibration statistics of {@link #model()}, or {@link CalibrationStats#NONE}
         * @return the plan, to report or emit
         * @throws StampException BAD_OPTION when the config needs calibration statistics and {@code stats} is empty
         */
        public CompilePlan plan(CalibrationStats stats) {
            if (config.needsCalibration() && stats.isEmpty()) {
                throw new StampException(StampException.Kind.BAD_OPTION, "GPTQ, --smooth and --allocate energy need calibration data: add --calib FILE|DIR");
            }
            LinearLayerPass pass = new LinearLayerPass(config, stats, external, OpsetCheck.defaultOpset(model), integers);
            return new CompilePlan(passes, pass, pass.plan(model, matches), embeddings, config, external);
        }
    }
}
