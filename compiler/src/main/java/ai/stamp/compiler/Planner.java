package ai.stamp.compiler;

import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.ops.SequenceLayout;
import java.util.Map;

/** Turns the config (and the token grids found in the graph) into a {@link LayerPlan} per linear layer. */
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
        return new Outcome.Planned(new LayerPlan(layer, mode, layout, config.hiBits(), config.loBits(), config.hiTokens(), gridSource, null));
    }
}
