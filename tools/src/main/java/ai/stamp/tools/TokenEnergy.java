package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampMetadata;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.ops.HaarBasis;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-token energy ‖x_t‖² of a layer input X [S, D] before and after the 1D Haar DWT along the sequence (STAMP.md
 * §2–4): the first {@code sink} tokens bypass the transform; the rest are zero-padded to whole blocks of
 * B = 2^levels tokens, transformed block by block (the block layout the inserted ops use) and read back in the
 * global standard order (approximation band, then the level-L … level-1 details) for plotting.
 */
public final class TokenEnergy {
    private TokenEnergy() {}

    /** A named band of the after-transform plot: tokens [start, start + length) in plot positions. */
    public record Band(String name, int start, int length) {}

    /**
     * The profile. {@code before} has S entries, {@code after} sink + S' entries (S' = padded length of the
     * transformed part) in standard order. {@code hiBefore}/{@code hiAfter} mark the tokens kept at the high
     * bit-width: before, the matched baseline's first (sink + band) tokens; after, the sink plus the first
     * (hiTokens − sink, or the band) coefficients in standard order.
     */
    public record Profile(String layer, String tensor, long[] shape, int levels, int sink, int hiBits, int loBits,
                          double[] before, double[] after, boolean[] hiBefore, boolean[] hiAfter, List<Band> bands,
                          String note) {
        public double totalBefore() { return sum(before, null, true); }
        public double totalAfter() { return sum(after, null, true); }
        /** Share of the energy held by the high-precision tokens, before and after. */
        public double hiShareBefore() { return sum(before, hiBefore, true) / Math.max(totalBefore(), Double.MIN_VALUE); }
        public double hiShareAfter() { return sum(after, hiAfter, true) / Math.max(totalAfter(), Double.MIN_VALUE); }
        public int hiCountBefore() { return count(hiBefore); }
        public int hiCountAfter() { return count(hiAfter); }

        private static double sum(double[] v, boolean[] mask, boolean want) {
            double s = 0;
            for (int i = 0; i < v.length; i++) if (mask == null || mask[i] == want) s += v[i];
            return s;
        }

        private static int count(boolean[] m) {
            int n = 0;
            for (boolean b : m) if (b) n++;
            return n;
        }
    }

    /** "levels=3 sink-tokens=1 ..." (the ai.stamp.config metadata) as a key → value map; bare words map to "". */
    public static Map<String, String> parseConfig(String config) {
        Map<String, String> out = new HashMap<>();
        if (config == null) return out;
        for (String w : config.trim().split("\\s+")) {
            if (w.isEmpty()) continue;
            int eq = w.indexOf('=');
            if (eq < 0) out.put(w, "");
            else out.put(w.substring(0, eq), w.substring(eq + 1));
        }
        return out;
    }

    /**
     * The profile of the first [S, D] slice of {@code values} (shape [..., S, D]).
     *
     * @param hiTokens 0: sink + band at the high bit-width; else that many tokens (sink included)
     */
    public static Profile profile(String layer, String tensor, float[] values, long[] shape, int levels, int sink,
                                  int hiTokens, int hiBits, int loBits, String note) {
        if (shape.length < 2) throw new IllegalArgumentException("tensor " + tensor + " has rank " + shape.length + ", need [..., S, D]");
        int s = Math.toIntExact(shape[shape.length - 2]);
        int d = Math.toIntExact(shape[shape.length - 1]);
        if ((long) s * d > values.length) throw new IllegalArgumentException("tensor " + tensor + " has too few values for its shape");
        int sinkN = Math.max(0, Math.min(sink, s));
        int b = 1 << levels;
        int n = s - sinkN;
        int nb = (n + b - 1) / b;
        int padded = nb * b;

        double[] before = new double[s];
        for (int t = 0; t < s; t++) {
            double e = 0;
            for (int k = 0; k < d; k++) {
                double x = values[t * d + k];
                e += x * x;
            }
            before[t] = e;
        }

        // block layout: block j holds tokens sink + j*B ... ; transform each block along the sequence, per feature
        double[] after = new double[sinkN + padded];
        System.arraycopy(before, 0, after, 0, sinkN);
        int[] pos = nb == 0 ? new int[0] : HaarBasis.standardPositions(true, levels, 1, nb);
        double[] col = new double[b];
        double[] blockEnergy = new double[padded];
        for (int k = 0; k < d; k++) {
            for (int j = 0; j < nb; j++) {
                for (int c = 0; c < b; c++) {
                    int t = sinkN + j * b + c;
                    col[c] = t < s ? values[t * d + k] : 0.0;
                }
                HaarBasis.haar1d(col, levels);
                for (int c = 0; c < b; c++) blockEnergy[j * b + c] += col[c] * col[c];
            }
        }
        for (int i = 0; i < padded; i++) after[sinkN + pos[i]] += blockEnergy[i];

        int band = nb; // one approximation coefficient per block
        int hiAfterN = hiTokens > 0 ? Math.min(hiTokens, sinkN + padded) : sinkN + band;
        int hiBeforeN = Math.min(s, hiAfterN);
        boolean[] hiBefore = new boolean[s];
        for (int t = 0; t < hiBeforeN; t++) hiBefore[t] = true;
        boolean[] hiAfter = new boolean[after.length];
        for (int t = 0; t < hiAfterN; t++) hiAfter[t] = true;

        List<Band> bands = new ArrayList<>();
        if (sinkN > 0) bands.add(new Band("sink", 0, sinkN));
        if (nb > 0) {
            bands.add(new Band("A" + levels, sinkN, nb));
            int start = sinkN + nb;
            for (int j = levels; j >= 1; j--) {
                int len = padded >> j;
                bands.add(new Band("D" + j, start, len));
                start += len;
            }
        }
        return new Profile(layer, tensor, shape.clone(), levels, sinkN, hiBits, loBits, before, after, hiBefore, hiAfter,
                List.copyOf(bands), note);
    }
    /** The rewritten model's {@link StampMetadata#CONFIG} metadata, or null. */
    public static String configOf(OnnxMl.ModelProto model) {
        for (OnnxMl.StringStringEntryProto e : model.getMetadataPropsList()) {
            if (e.getKey().equals(StampMetadata.CONFIG)) return e.getValue();
        }
        return null;
    }

    /**
     * The profile of rewritten layer {@code layer} (null: the first one in the rewritten model's layers metadata):
     * its input tensor (input 0 of the original's main-graph node of that name) from the original model on
     * {@code sample}, with levels, sink, high-precision count and bits from the rewritten model's config metadata.
     *
     * @throws StampException BAD_OPTION when the layer is unknown or has no usable input
     */
    public static Profile fromModels(LoadedModel original, LoadedModel rewritten, ModelInputs.Sample sample, String layer) {
        List<Validator.Layer> layers = Validator.rewrittenLayers(rewritten.proto());
        if (layers.isEmpty()) throw new StampException(StampException.Kind.BAD_OPTION, "the rewritten model names no rewritten layers");
        String name = layer == null ? layers.get(0).name() : layer;
        if (layers.stream().noneMatch(l -> l.name().equals(name))) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--energy-layer " + name + " is not a rewritten layer of "
                    + rewritten.path().getFileName() + " (first: " + layers.get(0).name() + ")");
        }
        OnnxMl.NodeProto node = null;
        for (OnnxMl.NodeProto n : original.proto().getGraph().getNodeList()) {
            if (n.getName().equals(name)) {
                node = n;
                break;
            }
        }
        if (node == null || node.getInputCount() == 0) {
            throw new StampException(StampException.Kind.BAD_OPTION, "layer " + name + " is not a node of the original's main graph");
        }
        Map<String, String> cfg = parseConfig(configOf(rewritten.proto()));
        int levels = intOr(cfg.get("levels"), 3);
        int sink = intOr(cfg.get("sink-tokens"), 1);
        String ht = cfg.getOrDefault("hi-tokens", "band");
        int hiTokens = ht.equals("band") ? 0 : intOr(ht, 0);
        int hiBits = 8, loBits = 4;
        String bits = cfg.get("bits");
        if (bits != null && bits.contains("/")) {
            hiBits = intOr(bits.substring(0, bits.indexOf('/')), 8);
            loBits = intOr(bits.substring(bits.indexOf('/') + 1), 4);
        }
        List<String> notes = new ArrayList<>();
        String mode = cfg.getOrDefault("mode", "stamp");
        String transform = cfg.getOrDefault("transform", "haar");
        if (!mode.equals("stamp") || !transform.equals("haar") || cfg.containsKey("grid")) {
            notes.add("The rewritten model is mode=" + mode + " transform=" + transform
                    + (cfg.containsKey("grid") ? " grid=" + cfg.get("grid") : "") + ": the 'after' plot shows what the 1D Haar would do, not its own transform.");
        }
        if (cfg.containsKey("allocate")) {
            notes.add("Bit-widths were allocated per layer from calibration energies (allocate=" + cfg.get("allocate")
                    + "); the highlight shows the default rule (sink + band).");
            hiTokens = 0;
        }
        if (configOf(rewritten.proto()) == null) notes.add("No " + StampMetadata.CONFIG + " metadata: levels 3, sink 1, bits 8/4 assumed.");
        String tensor = node.getInput(0);
        Validator.Captured x = Validator.capture(original, sample, tensor);
        if (x.shape() == null || x.shape().length < 2) {
            throw new StampException(StampException.Kind.BAD_OPTION, "input " + tensor + " of layer " + name + " is not [..., S, D]");
        }
        return profile(name, tensor, x.values(), x.shape(), levels, sink, hiTokens, hiBits, loBits, String.join(" ", notes));
    }

    private static int intOr(String s, int dflt) {
        if (s == null) return dflt;
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }
}
