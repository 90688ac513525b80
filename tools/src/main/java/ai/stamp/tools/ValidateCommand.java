package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "validate", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Runs ORIGINAL and REWRITTEN in ONNX Runtime on the same inputs; prints SQNR and cosine.",
        description = {"Runs ORIGINAL and REWRITTEN in ONNX Runtime (CPU) on the same inputs and prints, per model output,",
            "the SQNR (dB) and cosine against the original, and per rewritten layer (from REWRITTEN's ai.stamp.layers",
            "metadata) the SQNR of that layer's output tensor against the same tensor in ORIGINAL.",
            "SQNR = 10*log10(sum |x|^2 / sum |x - x'|^2), summed over all samples ('inf' = identical).",
            "Cosine: for a rank-3 [batch, seq, hidden] output of a text model, the cosine of the attention-mask",
            "mean-pooled embedding ('pooled', what sentence-embedding models return); otherwise (other ranks, or",
            "random inputs without an attention mask) the cosine of the flattened tensors ('flat'); averaged over samples.",
            "Inputs: a model with an int64 input named like input_ids gets real text, tokenized with its tokenizer.json",
            "(whole text without special tokens, cut into consecutive windows of seq-len - 2 tokens, each wrapped in the",
            "tokenizer's [CLS] ... [SEP]; batch 1, attention_mask ones, token_type_ids zeros; one window per sample);",
            "without a tokenizer, random ids below its vocabulary size (rows of the embedding Gather's table, else the",
            "logits' last dim). A decoder also gets an empty past [batch, heads, 0, head_dim] of its declared type and,",
            "for an encoder-decoder's decoder, standard-normal encoder_hidden_states [1, 64, hidden] (hidden declared or",
            "read from the weight that multiplies them; --dim sets either size).",
            "Other models get reproducible uniform [0,1) random inputs (fixed seed). Dynamic dims: --dim, else batch",
            "(axis 0) = 1; image input [N,C,H,W] with C = 1 or 3: H = 48, W = 320 (a text line, as PP-OCR recognizers",
            "take; W = H when H is fixed above 64); any other dynamic axis 256. When ONNX Runtime rejects the defaults",
            "(a speech encoder's convolutions need more samples), they grow 4x, up to 4 lengths.",
            "'input:' lines say what was used.",
            "Embedding models (text, pooled output) also get recall@10 and top-1 agreement: the first 20 sentences of the",
            "text, each a query against the others, neighbours by cosine of the mean-pooled output; recall@10 = mean",
            "overlap of the rewritten model's top 10 with the original's; top-1 = queries whose nearest neighbour agrees.",
            "--baseline also validates a second rewritten model (e.g. --mode baseline) on the same inputs. --html writes a",
            "self-contained page (inline CSS and SVG, no scripts): output summary, per-layer SQNR chart, and the per-token",
            "energy of one layer's input (original model, first sample) before and after the layer's 1D sequence",
            "transform (Haar, DCT or WHT, as the rewritten layer inserted it)."})
final class ValidateCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ORIGINAL", description = "The original model.")
    Path original;

    @Parameters(index = "1", paramLabel = "REWRITTEN", description = "The model 'rewrite' produced from it.")
    Path rewritten;

    @Mixin EvaluationTextOptions evaluation;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "HuggingFace tokenizer.json (default: tokenizer.json or <model-stem>-tokenizer.json beside ORIGINAL).")
    Path tokenizer;

    @Option(names = "--dim", paramLabel = "NAME=VALUE",
            description = "Value of a dynamic input dimension, by dim_param name (batch_size=1) or INPUT:AXIS (x:3=320). Repeatable.")
    List<String> dims;

    @Option(names = "--report", paramLabel = "FILE.json", description = "Also write the measurements as JSON.")
    Path report;

    @Option(names = "--baseline", paramLabel = "BASELINE",
            description = "A second rewritten model (e.g. from --mode baseline) to validate on the same inputs and compare.")
    Path baseline;

    @Option(names = "--html", paramLabel = "FILE.html",
            description = "Also write a self-contained HTML page: summary table, per-layer SQNR chart, token-energy profile.")
    Path html;

    @Option(names = "--energy-layer", paramLabel = "NAME",
            description = "The layer whose input's token energy the HTML page plots (default: the first rewritten layer).")
    String energyLayer;

    @Option(names = {"-q", "--quiet"}, description = "Do not print progress lines on stderr.")
    boolean quiet;

    @Override
    public Integer call() {
        evaluation.check();
        if (energyLayer != null && html == null) throw new StampException(StampException.Kind.BAD_OPTION, "--energy-layer needs --html");
        PrintWriter err = spec.commandLine().getErr();
        java.util.function.Consumer<String> progress = line -> {
            if (quiet) return;
            err.println("validate: " + line);
            err.flush();
        };
        var dimValues = ModelInputs.parseDims(dims);
        String textValue = evaluation.textOrNull();
        LoadedModel a = ModelFile.read(original);
        LoadedModel b = ModelFile.read(rewritten);
        LoadedModel c = baseline == null ? null : ModelFile.read(baseline);
        if (energyLayer != null && Validator.rewrittenLayers(b.proto()).stream().noneMatch(l -> l.name().equals(energyLayer))) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--energy-layer " + energyLayer + " is not a rewritten layer of "
                    + rewritten.getFileName() + " (see its ai.stamp.layers metadata, or 'validate' without --energy-layer)");
        }
        ModelInputs.Prepared prepared = ModelInputs.prepare(a, textValue, tokenizer, evaluation.seqLen, evaluation.samples, dimValues);
        List<ModelInputs.Sample> inputs = prepared.samples();
        prepared.used().forEach(line -> progress.accept("using " + line));
        progress.accept(inputs.size() + " sample(s); running " + original.getFileName() + " and " + rewritten.getFileName());
        Validator.Report r = Validator.validate(a, b, inputs);
        Validator.Report rc = null;
        if (c != null) {
            progress.accept("running " + original.getFileName() + " and baseline " + baseline.getFileName());
            rc = Validator.validate(a, c, inputs);
        }
        String pooled = retrievalOutput(a, prepared, r);
        Retrieval.Result ret = null;
        Retrieval.Result retBaseline = null;
        if (pooled != null) {
            String text = textValue == null ? DefaultText.get() : textValue;
            progress.accept("retrieval: embedding up to " + Retrieval.SENTENCES + " sentences with both models");
            ret = Retrieval.measure(a, b, prepared.tokenizer(), text, evaluation.seqLen, pooled);
            if (c != null) retBaseline = Retrieval.measure(a, c, prepared.tokenizer(), text, evaluation.seqLen, pooled);
        }
        if (report != null) {
            com.google.gson.JsonObject json = r.toJsonObject();
            if (ret != null) json.add("retrieval", ret.toJson());
            com.google.gson.JsonArray used = new com.google.gson.JsonArray();
            prepared.used().forEach(used::add);
            json.add("inputs", used);
            RewriteJob.writeText(report, new com.google.gson.GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(json));
        }
        PrintWriter out = spec.commandLine().getOut();
        for (String line : prepared.used()) out.println("input: " + line);
        print(out, r);
        if (ret != null) out.println(ret.describe());
        if (rc != null) {
            out.printf("%nbaseline %s:%n", baseline.getFileName());
            print(out, rc);
            if (retBaseline != null) out.println(retBaseline.describe());
        }
        out.flush();
        if (html != null) {
            TokenEnergy.Profile energy = null;
            String energyNote = null;
            progress.accept("token energy of " + (energyLayer == null ? "the first rewritten layer" : energyLayer) + " (first sample)");
            try {
                energy = TokenEnergy.fromModels(a, b, inputs.get(0), energyLayer);
            } catch (StampException e) {
                if (energyLayer != null) throw e;
                energyNote = e.getMessage();
            }
            HtmlReport.Data data = new HtmlReport.Data(original.getFileName().toString(), rewritten.getFileName().toString(),
                    TokenEnergy.configOf(b.proto()), r, c == null ? null : baseline.getFileName().toString(),
                    c == null ? null : TokenEnergy.configOf(c.proto()), rc, energy, energyNote);
            RewriteJob.writeText(html, HtmlReport.render(data));
            progress.accept("wrote " + html);
        }
        return 0;
    }

    /**
     * The output to measure retrieval on — the first with a pooled cosine, for an encoder fed real text with a dynamic
     * sequence length (the sentences have their own lengths) — or null when the model is no such embedding model.
     */
    static String retrievalOutput(LoadedModel model, ModelInputs.Prepared prepared, Validator.Report r) {
        if (prepared.tokenizer() == null || CausalLm.isDecoder(model.proto())) return null;
        for (ModelInputs.Declared d : ModelInputs.declaredInputs(model.proto())) {
            if (d.rank() == 2 && d.dims().get(1) != null) return null;
        }
        for (Validator.OutputMetric m : r.outputs()) {
            if ("pooled".equals(m.cosineKind()) && !m.name().toLowerCase(java.util.Locale.ROOT).contains("logits")) return m.name();
        }
        return null;
    }

    static void print(PrintWriter o, Validator.Report r) {
        o.printf("%d sample(s)%n", r.samples());
        o.printf("%-40s %12s %10s  %s%n", "output", "SQNR (dB)", "cosine", "max|Δ|/max|x|");
        for (Validator.OutputMetric m : r.outputs()) {
            o.printf("%-40s %12s %10s  %.3g%n", m.name(), Format.db(m.sqnrDb()), Format.cos(m.cosine()) + " " + m.cosineKind(), m.maxRelativeError());
        }
        if (!r.layers().isEmpty()) {
            o.printf("%nper rewritten layer (output tensor SQNR, rewritten vs original):%n");
            // columns as wide as the longest name, so the SQNR figures line up whatever the names
            int nameWidth = r.layers().stream().mapToInt(l -> l.name().length()).max().orElse(0);
            int outputWidth = r.layers().stream().mapToInt(l -> l.output().length()).max().orElse(0);
            int dbWidth = Math.max("SQNR (dB)".length(), r.layers().stream().mapToInt(l -> Format.db(l.sqnrDb()).length()).max().orElse(0));
            String row = "  %-" + Math.max(nameWidth, "layer".length()) + "s  %-" + Math.max(outputWidth, "output".length()) + "s  %" + dbWidth + "s%n";
            o.printf(row, "layer", "output", "SQNR (dB)");
            for (Validator.LayerMetric l : r.layers()) {
                o.printf(row, l.name(), l.output(), Format.db(l.sqnrDb()));
            }
            o.printf("mean layer SQNR: %s dB over %d layers%n", Format.db(r.meanLayerSqnrDb()), r.layers().size());
        }
        for (String n : r.notes()) o.println("note: " + n);
        o.flush();
    }
}
