package ai.stamp.tools;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code table --perplexity}: reads the options of a {@link TableCommand}, refuses those that do not apply, opens the
 * causal LM (so an encoder is refused before any calibration), calibrates once for GPTQ, and prints the
 * {@link PerplexityTable}.
 */
final class PerplexityTableRun {
    /** Options of the SQNR tables that mean nothing for perplexity (refused, not ignored). */
    private static final List<String> NOT_APPLICABLE = List.of("--transforms", "--hi-tokens", "--avg-bits", "--dim", "--seq-len", "--samples");

    private final TableCommand command;

    PerplexityTableRun(TableCommand command) { this.command = command; }

    int call() {
        for (String o : NOT_APPLICABLE) {
            if (command.matched(o)) {
                throw new StampException(StampException.Kind.BAD_OPTION, o + " does not apply with --perplexity (every token of each --text is scored in --window windows)");
            }
        }
        List<Path> textFiles = command.evaluation.texts;
        if (textFiles == null) throw new StampException(StampException.Kind.BAD_OPTION, "table --perplexity needs --text FILE (repeatable: one column group per text)");
        if (command.window != null && command.window < 2) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--window must be >= 2, got " + command.window);
        }
        List<String> methods = command.weights != null ? command.weights : List.of("rtn4");
        List<PaperTable.Row> rows = new ArrayList<>();
        boolean gptq = false;
        for (String w : methods) {
            StampConfig.WeightQuant wq = TableCommand.weightsOf(w);
            gptq |= wq.isGptq();
            rows.addAll(PaperTable.llmRows(wq));
        }
        CalibrationInputs.Source source = command.calibration.toSource();
        if (gptq && source == null) throw new StampException(StampException.Kind.BAD_OPTION, "table needs --calib FILE|DIR (calibration data) for gptq8/gptq4 weights");
        StampConfig base;
        try {
            // simulation form for every cell: the weights-only column keeps float activations, which the integer form cannot
            base = StampConfig.builder().levels(command.levels).emit(StampConfig.Emit.SIMULATE).build();
            if (command.kvBits != 0) base.toBuilder().kvBits(command.kvBits).build();
        } catch (IllegalArgumentException e) {
            throw new StampException(StampException.Kind.BAD_OPTION, e.getMessage(), e);
        }
        Path model = command.model != null ? command.model : RealModels.stories260K();
        PrintWriter o = command.spec.commandLine().getOut();
        PrintWriter log = command.quiet ? new PrintWriter(PrintWriter.nullWriter()) : command.spec.commandLine().getErr();
        LoadedModel original = ModelFile.read(model);
        try (CausalLm lm = CausalLm.open(original)) {
            Path tokenizer = ScoredText.tokenizer(command.calibration.tokenizer, model);
            int win = ScoredText.window(command.window, List.of(lm));
            List<ScoredText> texts = new ArrayList<>();
            for (Path t : textFiles) texts.add(ScoredText.of(t, EvaluationTextOptions.read(t), tokenizer, win, null));
            for (ScoredText t : texts) log.println("table: " + t.name() + ", " + t.ids().length + " tokens, " + t.windows().size() + " window(s) of at most " + win);
            log.flush();
            CalibrationStats stats = CalibrationStats.NONE;
            if (gptq) {
                source = new CalibrationInputs.Source(source.path(), tokenizer, source.seqLen(), source.samples());
                stats = CalibrationInputs.collect(original, base.toBuilder().weights(StampConfig.WeightQuant.GPTQ4).build(), source,
                        line -> { log.println(line); log.flush(); });
            }
            List<PaperTable.Column> columns = PaperTable.llmColumns(base.loBits(), command.kvBits);
            List<PerplexityTable.Cell> cells = PerplexityTable.run(lm, original, base, stats, texts, rows, columns, log);
            String table = PerplexityTable.markdown(cells, rows, columns, texts.stream().map(ScoredText::name).toList());
            o.print(table);
            o.flush();
            if (command.out != null) {
                String calib = source == null || !gptq ? "none" : source.path().getFileName() + " (" + source.samples() + " x " + source.seqLen() + " tokens)";
                String evaluated = String.join(", ", texts.stream().map(t -> t.name() + " (" + t.scored() + " tokens)").toList());
                RewriteJob.writeText(command.out, "Command: `stamp-onnx " + String.join(" ", command.spec.commandLine().getParseResult().originalArgs())
                        + "`; date: " + LocalDate.now(ZoneOffset.UTC) + ".\n\nModel: " + model.getFileName() + "; calibration: " + calib
                        + "; perplexity on " + evaluated + " in windows of " + win + " tokens (" + texts.get(0).bos().description() + "); A"
                        + base.loBits() + " with sink + band at " + base.hiBits() + " bits, levels " + command.levels + ", sink " + base.sinkTokens()
                        + (command.kvBits == 0 ? "" : ", KV" + command.kvBits) + ", emit simulate. Bold: the lowest A" + base.loBits()
                        + " perplexity per text.\n\n" + table);
            }
        }
        return 0;
    }
}
