package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.quant.EnergyAllocator;
import ai.stamp.ops.SequenceLayout;
import java.util.Map;

/**
 * Turns the config (and the token grids found in the graph) into a {@link LayerPlan} per linear layer.
 *
 * <p>With {@code --allocate energy} (1D Haar only; the calibration holds 1D coefficient energies) the
 * {@link EnergyAllocator} picks each layer's levels L and bit table from its input's calibrated energies
 * under --avg-bits (config levels are then ignored). The matched baseline (mode BASELINE, or transform
 * IDENTITY) keeps the fixed first-K rule with K chosen so that its average bits over the S raw tokens
 * equal the energy plan's average at S ({@link EnergyAllocator#matchedHiTokens}); TRANSFORM_ONLY uses the
 * allocator's L when statistics exist (so it checks the very transform STAMP would insert), else --levels.
 */
public final class Planner {
    private final StampConfig config;
    private final CalibrationStats stats;

    public Planner(StampConfig config) { this(config, CalibrationStats.NONE); }

    public Planner(StampConfig config, CalibrationStats stats) {
        this.config = config;
        this.stats = stats;
    }

    /** A plan, or the reason the layer cannot be planned (reported as skipped). */
    public sealed interface Outcome {
        record Planned(LayerPlan plan) implements Outcome {}

        record Refused(String reason) implements Outcome {}
    }

    public Outcome plan(LinearLayer layer, Map<String, TokenGridInference.TokenGrid> grids) {
        SequenceLayout layout;
        String gridSource = "";
        switch (config.transform()) {
            case HAAR, IDENTITY -> layout = SequenceLayout.haar1d(config.levels(), config.sinkTokens());
            case HAAR2D -> {
                if (config.grid().isPresent()) {
                    StampConfig.Grid grid = config.grid().get();
                    long s = layer.sequenceLength();
                    if (s > 0 && grid.width() > 0 && s - config.sinkTokens() != (long) grid.height() * grid.width()) {
                        return new Outcome.Refused("--grid " + grid + " holds " + grid.height() * grid.width() + " tokens but the input has "
                                + s + " tokens with " + config.sinkTokens() + " sink token(s)");
                    }
                    layout = SequenceLayout.haar2d(config.levels(), config.sinkTokens(), config.grid().get().height());
                    gridSource = config.grid().get() + " (--grid)";
                } else {
                    TokenGridInference.TokenGrid g = grids.get(layer.activation());
                    if (g == null) {
                        return new Outcome.Refused("no token grid known for its input (not traced to a patchify Conv): give --grid HxW or use --transform haar");
                    }
                    // An inferred grid fixes the sink too: the tokens concatenated before the patches ([CLS], registers).
                    layout = SequenceLayout.haar2d(config.levels(), g.prefixTokens(), g.height());
                    gridSource = g.height() + "x" + (g.width() < 0 ? "?" : Integer.toString(g.width())) + " (inferred, " + g.prefixTokens() + " prefix tokens)";
                }
            }
            default -> throw new IllegalStateException("unknown transform " + config.transform());
        }
        StampConfig.Mode mode = config.mode();
        if (config.transform() == StampConfig.TransformKind.IDENTITY) {
            if (mode == StampConfig.Mode.TRANSFORM_ONLY) {
                return new Outcome.Refused("identity transform without quantization inserts nothing");
            }
            mode = StampConfig.Mode.BASELINE;
        }
        if (config.allocation() == StampConfig.Allocation.ENERGY) return planEnergy(layer, mode, layout, gridSource);
        return new Outcome.Planned(new LayerPlan(layer, mode, layout, config.hiBits(), config.loBits(), config.hiTokens(), gridSource, null));
    }

    private Outcome planEnergy(LinearLayer layer, StampConfig.Mode mode, SequenceLayout layout, String gridSource) {
        if (layout.is2d()) {
            return new Outcome.Refused("--allocate energy needs 1D coefficient energies: use --transform haar (or identity) with it");
        }
        ActivationStats act = stats.of(layer.activation()).orElse(null);
        if (act == null || act.coefficientEnergy() == null || act.coefficientEnergy().isEmpty()) {
            if (mode == StampConfig.Mode.TRANSFORM_ONLY) {
                return new Outcome.Planned(new LayerPlan(layer, mode, layout, config.hiBits(), config.loBits(), 0, gridSource, null));
            }
            return new Outcome.Refused("--allocate energy needs coefficient energies of its input '" + layer.activation()
                    + "': give calibration data with --calib");
        }
        if (stats.samples() > 0 && stats.sinkTokens() != config.sinkTokens()) {
            return new Outcome.Refused("calibration energies were measured with " + stats.sinkTokens() + " sink token(s) but --sink-tokens is "
                    + config.sinkTokens() + ": recalibrate with --calib");
        }
        int seq = EnergyAllocator.sequenceLength(layer, act, stats);
        EnergyAllocator.Allocation a = EnergyAllocator.of(config).allocate(act, seq);
        SequenceLayout chosen = SequenceLayout.haar1d(a.levels(), layout.sinkTokens());
        return new Outcome.Planned(switch (mode) {
            case STAMP -> new LayerPlan(layer, mode, chosen, config.hiBits(), config.loBits(), 0, gridSource, a.coefficientBits(), a.averageBits());
            case TRANSFORM_ONLY -> new LayerPlan(layer, mode, chosen, config.hiBits(), config.loBits(), 0, gridSource, null);
            case BASELINE -> new LayerPlan(layer, mode, chosen, config.hiBits(), config.loBits(),
                    EnergyAllocator.matchedHiTokens(a.averageBits(), seq, config.hiBits(), config.loBits()), gridSource, null, a.averageBits());
        });
    }
}
