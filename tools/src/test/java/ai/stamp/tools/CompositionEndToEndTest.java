package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Feature transforms and energy allocation on the real all-MiniLM-L6-v2, calibrated on real text. */
class CompositionEndToEndTest {
    @TempDir Path dir;

    @Test
    void rotationAndSmoothingAreExactWithoutQuantizationAndEnergyBeatsFixedK() throws Exception {
        LoadedModel original = ModelFile.read(RealModels.miniLm());
        Path text = dir.resolve("calib.txt");
        Files.writeString(text, DefaultText.get());
        StampConfig calibrated = StampConfig.builder().smoothAlpha(0.5).build();
        CalibrationStats stats = CalibrationInputs.collect(original, calibrated,
                new CalibrationInputs.Source(text, RealModels.miniLmTokenizer(), 128, 4), line -> { });
        List<ModelInputs.Sample> inputs = ModelInputs.forModel(original, null, RealModels.miniLmTokenizer(), 256, 2, java.util.Map.of());

        StampConfig exact = StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).smoothAlpha(0.5)
                .rotation(StampConfig.Rotation.RANDOM_HADAMARD).build();
        Validator.OutputMetric out = validate(original, exact, stats, inputs);
        assertTrue(out.maxRelativeError() <= 1e-4, "rotation + smoothing, no quantization: max|Δ|/max|x| = " + out.maxRelativeError());

        // at the same average bits (5 = 64 of 256 tokens at 8/4), energy allocation is at least as good as the fixed 64
        double fixed64 = validate(original, StampConfig.builder().hiTokens(64).build(), stats, inputs).sqnrDb();
        double energy = validate(original, StampConfig.builder().allocation(StampConfig.Allocation.ENERGY).avgBits(5).build(), stats, inputs).sqnrDb();
        assertTrue(energy >= fixed64, "energy " + energy + " dB vs hi-tokens 64 " + fixed64 + " dB");
    }

    private static Validator.OutputMetric validate(LoadedModel original, StampConfig config, CalibrationStats stats, List<ModelInputs.Sample> inputs) {
        LoadedModel rewritten = original.withProto(StampCompiler.compile(original.proto(), config, stats).model());
        return Validator.validate(original, rewritten, inputs).output("last_hidden_state");
    }
}
