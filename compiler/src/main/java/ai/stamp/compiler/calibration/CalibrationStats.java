package ai.stamp.compiler.calibration;

import ai.stamp.compiler.passes.linear.Planner;

import java.util.Map;
import java.util.Optional;

/** Calibration statistics of a model, per linear-layer input tensor; feeds the Planner and the weight methods. */
public record CalibrationStats(Map<String, ActivationStats> byTensor, int samples, int sinkTokens) {
    public static final CalibrationStats NONE = new CalibrationStats(Map.of(), 0, 0);

    public Optional<ActivationStats> of(String tensor) { return Optional.ofNullable(byTensor.get(tensor)); }

    public boolean isEmpty() { return byTensor.isEmpty(); }
}
