package ai.stamp.compiler.calibration;

import java.util.Map;
import java.util.Optional;

/**
 * What calibration learned about one linear-layer input tensor X [..., S, D], reduced over every token of
 * every calibration sample (memory is bounded by D and D², never by the number of samples).
 *
 * @param tensor            the activation tensor name (shared by every layer that reads it)
 * @param features          D
 * @param tokens            number of token rows reduced
 * @param channelAbsMax     max |X[:, d]| per feature d (SmoothQuant)
 * @param gram              X^T X summed over all token rows, row-major [D, D] in double (GPTQ); null when not collected
 * @param coefficientEnergy for each candidate level count L of the calibrated 1D transform, the mean energy ||(L X)_t||² of each in-block
 *                          coefficient index c in 0..2^L-1 (sink tokens excluded), averaged over blocks and samples
 * @param sinkEnergy        mean energy ||X_t||² of the sink tokens (0 when there are none)
 */
public record ActivationStats(String tensor, int features, long tokens, float[] channelAbsMax, double[] gram,
                              Map<Integer, double[]> coefficientEnergy, double sinkEnergy) {
    /** {@return X^T X, when it was collected} */
    public Optional<double[]> gramMatrix() { return Optional.ofNullable(gram); }

    /**
     * {@return the mean coefficient energies at {@code levels} levels, when they were collected}
     *
     * @param levels the transform's level count
     */
    public Optional<double[]> energies(int levels) { return Optional.ofNullable(coefficientEnergy.get(levels)); }
}
