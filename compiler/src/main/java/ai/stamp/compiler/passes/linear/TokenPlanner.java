package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.config.ActivationPrecision;
import ai.stamp.compiler.config.SequenceTransformConfig;
import ai.stamp.compiler.quant.EnergyAllocator;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.Refusal;
import ai.stamp.ops.HaarTransform;
import ai.stamp.ops.SequenceLayout;
import ai.stamp.ops.SequenceTransforms;
import java.util.Map;

/**
 * Turns the sequence-transform and precision config (and the token grids found in the graph) into a
 * {@link TokenPlan} per linear layer.
 *
 * <p>With {@code --allocate energy} (1D transforms only; the calibration holds the in-block coefficient
 * energies of one 1D transform, which must be the layer's) the {@link EnergyAllocator} picks each layer's
 * levels L and bit table from its input's calibrated energies under --avg-bits (config levels are then ignored). The matched baseline (mode BASELINE, or transform
 * IDENTITY) keeps the fixed first-K rule with K chosen so that its average bits over the S raw tokens
 * equal the energy plan's average at S ({@link EnergyAllocator#matchedHiTokens}); TRANSFORM_ONLY uses the
 * allocator's L when statistics exist (so it checks the very transform STAMP would insert), else --levels.
 */
public final class TokenPlanner {
    private final StampConfig.Mode mode;
    private final SequenceTransformConfig sequence;
    private final ActivationPrecision precision;
    private final CalibrationStats stats;

    public TokenPlanner(StampConfig.Mode mode, SequenceTransformConfig sequence, ActivationPrecision precision, CalibrationStats stats) {
        this.mode = mode;
        this.sequence = sequence;
        this.precision = precision;
        this.stats = stats;
    }

    /** Whether planning needs the token grids of the graph ({@link TokenGridInference}). */
    public boolean needsInferredGrids() {
        return sequence.onGrid() && sequence.grid().isEmpty();
    }

    /** A plan, or the reason the layer cannot be planned (reported as skipped). */
    public Match<TokenPlan> plan(LinearLayer layer, Map<String, TokenGridInference.TokenGrid> grids) {
        SequenceLayout layout;
        String gridSource = "";
        if (!sequence.onGrid()) {
            // the identity keeps the 1D Haar geometry: its band size is what the matched baseline keeps at high precision
            String id = sequence.identity() ? HaarTransform.ID : sequence.transform();
            layout = SequenceTransforms.of(id, sequence.levels(), sequence.sinkTokens()).layout();
        } else if (sequence.grid().isPresent()) {
            StampConfig.Grid grid = sequence.grid().get();
            long s = layer.sequenceLength();
            if (s > 0 && grid.width() > 0 && s - sequence.sinkTokens() != (long) grid.height() * grid.width()) {
                return Match.refused(Refusal.Code.NO_TOKEN_GRID, "--grid " + grid + " holds " + grid.height() * grid.width()
                        + " tokens but the input has " + s + " tokens with " + sequence.sinkTokens() + " sink token(s)");
            }
            layout = SequenceTransforms.of(sequence.transform(), sequence.levels(), sequence.sinkTokens(), grid.height()).layout();
            gridSource = grid + " (--grid)";
        } else {
            TokenGridInference.TokenGrid g = grids.get(layer.activation());
            if (g == null) {
                return Match.refused(Refusal.Code.NO_TOKEN_GRID,
                        "no token grid known for its input (not traced to a patchify Conv): give --grid HxW or use a 1D --transform ("
                                + String.join(", ", oneDimensionalIds()) + ")");
            }
            // An inferred grid fixes the sink too: the tokens concatenated before the patches ([CLS], registers).
            layout = SequenceTransforms.of(sequence.transform(), sequence.levels(), g.prefixTokens(), g.height()).layout();
            gridSource = g.height() + "x" + (g.width() < 0 ? "?" : Integer.toString(g.width())) + " (inferred, " + g.prefixTokens() + " prefix tokens)";
        }
        StampConfig.Mode mode = this.mode;
        if (sequence.identity()) {
            if (mode == StampConfig.Mode.TRANSFORM_ONLY) {
                return Match.refused(Refusal.Code.NOTHING_TO_INSERT, "identity transform without quantization inserts nothing");
            }
            mode = StampConfig.Mode.BASELINE;
        }
        if (precision.allocation() == StampConfig.Allocation.ENERGY) return planEnergy(layer, mode, layout, gridSource);
        return Match.planned(new TokenPlan(mode, layout, precision.hiBits(), precision.loBits(), precision.hiTokens(), gridSource, null));
    }

    /** The registered 1D transforms, for messages: "haar", "dct", "wht". */
    private static java.util.List<String> oneDimensionalIds() {
        return SequenceTransforms.ids().stream().filter(id -> !SequenceTransforms.isGrid(id)).toList();
    }

    private Match<TokenPlan> planEnergy(LinearLayer layer, StampConfig.Mode mode, SequenceLayout layout, String gridSource) {
        if (layout.is2d()) {
            return Match.refused(Refusal.Code.NEEDS_CALIBRATION, "--allocate energy needs 1D coefficient energies: use a 1D --transform ("
                    + String.join(", ", oneDimensionalIds()) + ") or identity with it");
        }
        ActivationStats act = stats.of(layer.activation()).orElse(null);
        if (act == null || act.coefficientEnergy() == null || act.coefficientEnergy().isEmpty()) {
            if (mode == StampConfig.Mode.TRANSFORM_ONLY) {
                return Match.planned(new TokenPlan(mode, layout, precision.hiBits(), precision.loBits(), 0, gridSource, null));
            }
            return Match.refused(Refusal.Code.NEEDS_CALIBRATION, "--allocate energy needs coefficient energies of its input '" + layer.activation()
                    + "': give calibration data with --calib");
        }
        if (stats.samples() > 0 && stats.sinkTokens() != sequence.sinkTokens()) {
            return Match.refused(Refusal.Code.NEEDS_CALIBRATION, "calibration energies were measured with " + stats.sinkTokens()
                    + " sink token(s) but --sink-tokens is " + sequence.sinkTokens() + ": recalibrate with --calib");
        }
        String planned = layout.sequenceTransform().id();
        if (!stats.energyTransform().equals(planned)) {
            return Match.refused(Refusal.Code.NEEDS_CALIBRATION, "calibration energies are of '" + stats.energyTransform() + "' but --transform is '"
                    + sequence.transform() + "'" + (sequence.identity() ? " (its matched baseline plans with '" + planned + "' energies)" : "")
                    + ": recalibrate with --calib");
        }
        int seq = EnergyAllocator.sequenceLength(layer.sequenceLength(), act, stats);
        EnergyAllocator.Allocation a = EnergyAllocator.of(precision, sequence.sinkTokens()).allocate(act, seq);
        SequenceLayout chosen = SequenceTransforms.of(layout.sequenceTransform().id(), a.levels(), layout.sinkTokens()).layout();
        int hi = precision.hiBits(), lo = precision.loBits();
        return Match.planned(switch (mode) {
            case STAMP -> new TokenPlan(mode, chosen, hi, lo, 0, gridSource, a.coefficientBits(), a.averageBits());
            case TRANSFORM_ONLY -> new TokenPlan(mode, chosen, hi, lo, 0, gridSource, null);
            case BASELINE -> new TokenPlan(mode, chosen, hi, lo, EnergyAllocator.matchedHiTokens(a.averageBits(), seq, hi, lo), gridSource, null,
                    a.averageBits());
        });
    }
}
