package ai.stamp.compiler.calibration;

import java.util.Map;
import java.util.Optional;

/**
 * Calibration statistics of a model, per linear-layer input tensor; feeds the planners and the weight methods.
 *
 * @param byTensor        the statistics of each linear-layer input, by tensor name
 * @param samples         the number of calibration samples run
 * @param sinkTokens      the sink tokens the coefficient energies were measured with
 * @param energyTransform the 1D sequence transform the coefficient energies are of
 */
public record CalibrationStats(Map<String, ActivationStats> byTensor, int samples, int sinkTokens, String energyTransform) {
    /** No statistics: a compile that needs none. */
    public static final CalibrationStats NONE = new CalibrationStats(Map.of(), 0, 0);

    /**
     * Statistics whose energies are of the 1D Haar transform.
     *
     * @param byTensor   the statistics of each linear-layer input, by tensor name
     * @param samples    the number of calibration samples run
     * @param sinkTokens the sink tokens the coefficient energies were measured with
     */
    public CalibrationStats(Map<String, ActivationStats> byTensor, int samples, int sinkTokens) {
        this(byTensor, samples, sinkTokens, ai.stamp.ops.HaarTransform.ID);
    }

    /**
     * {@return the statistics of one tensor, if it was calibrated}
     *
     * @param tensor the linear-layer input's name
     */
    public Optional<ActivationStats> of(String tensor) { return Optional.ofNullable(byTensor.get(tensor)); }

    /** {@return whether there are no statistics at all} */
    public boolean isEmpty() { return byTensor.isEmpty(); }
}
