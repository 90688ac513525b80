package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.testmodels.RealModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A text --calib on a causal LM with a KV cache: each window is fed as a prefill call with an empty past. */
class CausalLmCalibrationTest {
    @TempDir Path dir;

    @Test
    void gptq4CalibratedOnTextScoresAtLeastAsWellAsRtn4() throws Exception {
        Path model = RealModels.stories260K();
        Path story = PerplexityRuns.story();
        Path rtn = dir.resolve("rtn4.onnx"), gptq = dir.resolve("gptq4.onnx");
        CliTest.Run r = CliTest.cli("rewrite", model.toString(), rtn.toString(), "--mode", "transform-only", "--weights", "rtn4", "--emit", "simulate");
        assertEquals(0, r.code(), r.err());
        CliTest.Run g = CliTest.cli("rewrite", model.toString(), gptq.toString(), "--mode", "transform-only", "--weights", "gptq4", "--emit", "simulate",
                "--calib", story.toString(), "--calib-seq-len", "64", "--calib-samples", "4");
        assertEquals(0, g.code(), g.err());
        double[] ppl = new double[3];
        var report = PerplexityRuns.run(dir, model.toString(), rtn.toString(), gptq.toString(), "--text", story.toString(), "--window", "128");
        for (int i = 0; i < 3; i++) ppl[i] = PerplexityRuns.perplexity(report, i);
        assertTrue(Double.isFinite(ppl[2]), "GPTQ4 perplexity " + ppl[2]);
        assertTrue(ppl[1] > ppl[0], "4-bit weights cost perplexity: float " + ppl[0] + ", rtn4 " + ppl[1]);
        // GPTQ minimises the layer output error on the calibration inputs, so it should not be clearly worse than RTN
        assertTrue(ppl[2] <= ppl[1] * 1.02, "gptq4 " + ppl[2] + " vs rtn4 " + ppl[1]);
    }
}
