package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The calibration-data options of {@code rewrite} and {@code inspect}. */
public final class CalibrationOptions {
    @Option(names = "--calib", paramLabel = "FILE|DIR",
            description = "Calibration data, run through the original model to collect per-layer statistics (needed by gptq8/gptq4, "
                    + "--smooth and --allocate energy). FILE: UTF-8 text for a token-id model, tokenized as 'validate' does "
                    + "(windows of --calib-seq-len tokens, up to --calib-samples windows). DIR: ONNX TensorProto files named after "
                    + "the graph inputs (input_ids.pb, attention_mask.pb, x.pb, ...): one sample from the .pb files in DIR itself, "
                    + "or one sample per numbered subfolder 0/, 1/, ... each holding one .pb per input.")
    Path calib;

    @Option(names = "--calib-seq-len", paramLabel = "N", defaultValue = "256",
            description = "Tokens per calibration window (text --calib), special tokens included. Default: ${DEFAULT-VALUE}.")
    int calibSeqLen;

    @Option(names = "--calib-samples", paramLabel = "N", defaultValue = "16",
            description = "Number of calibration windows (text --calib). Default: ${DEFAULT-VALUE}.")
    int calibSamples;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "HuggingFace tokenizer.json for a text --calib (default: tokenizer.json or <model-stem>-tokenizer.json beside the model).")
    Path tokenizer;

    /** The calibration source, or null without --calib; checks the values (BAD_OPTION / INPUT_MISSING) before any model is read. */
    public CalibrationInputs.Source toSource() {
        if (calib == null) return null;
        if (calibSeqLen < 3) throw new StampException(StampException.Kind.BAD_OPTION, "--calib-seq-len must be >= 3, got " + calibSeqLen);
        if (calibSamples < 1) throw new StampException(StampException.Kind.BAD_OPTION, "--calib-samples must be >= 1, got " + calibSamples);
        if (!Files.exists(calib)) throw new StampException(StampException.Kind.INPUT_MISSING, "--calib " + calib + " does not exist");
        return new CalibrationInputs.Source(calib, tokenizer, calibSeqLen, calibSamples);
    }
}
