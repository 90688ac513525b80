package ai.stamp.compiler.calibration;

import java.util.Map;
import java.util.Optional;

/**
 * Calibration statistics of a model, per linear-layer input tensor; feeds the planners and the weight methods.
 *
 * @param sinkTokens      the sink tokens the coefficient energies were measured with
 * @param energyTransform the 1D sequence transform the coefficient energies are of
 */
public record CalibrationStats(Map<String, ActivationStats> byTensor, int samples, int sinkTokens, String energyTransform) {
    public static final CalibrationStats NONE = new CalibrationStats(Map.of(), 0, 0);

    /** Statistics whose energies are of the 1D Haar transform. */
    public CalibrationStats(Map<String, ActivationStats> byTensor, int samples, int sinkTokens) {
        this(byTensor, samples, sinkTokens, ai.stamp.ops.HaarTransform.ID);
    }

    public Optional<ActivationStats> of(String tensor) { return Optional.ofNullable(byTensor.get(tensor)); }

    public boolean isEmpty() { return byTensor.isEmpty(); }
}
