package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampMetadata;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.ops.HaarTransform;
import ai.stamp.ops.SequenceTransform;
import ai.stamp.ops.SequenceTransforms;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-token energy ‖x_t‖² of a layer input X [S, D] before and after a 1D sequence transform (docs/method.md (#the-rewrite, #sequence-transforms, #activation-quantization-numerics); the
 * layer's own transform: Haar, block DCT-II, Walsh–Hadamard): the first {@code sink} tokens bypass the transform;
 * the rest are zero-padded to whole blocks of B = 2^levels tokens, transformed block by block (the block layout the
 * inserted ops use) and read back in the transform's global standard order (the band, then the other coefficient
 * classes) for plotting.
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
    public record Profile(String layer, String tensor, long[] shape, SequenceTransform transform, int sink, int hiBits, int loBits,
                          double[] before, double[] after, boolean[] hiBefore, boolean[] hiAfter, List<Band> bands,
                          String note) {
        public int levels() { return transform.levels(); }
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
     * The profile of the first [S, D] slice of {@code values} (shape [..., S, D]) under the 1D {@code transform} (its
     * levels; its sink count is capped at S).
     *
     * @param hiTokens 0: sink + band at the high bit-width; else that many tokens (sink included)
     */
    public static Profile profile(String layer, String tensor, float[] values, long[] shape, SequenceTransform transform,
                                  int hiTokens, int hiBits, int loBits, String note) {
        if (transform.is2d()) throw new IllegalArgumentException("the energy profile is of a 1D transform, got " + transform.id());
        if (shape.length < 2) throw new IllegalArgumentException("tensor " + tensor + " has rank " + shape.length + ", need [..., S, D]");
        int s = Math.toIntExact(shape[shape.length - 2]);
        int d = Math.toIntExact(shape[shape.length - 1]);
        if ((long) s * d > values.length) throw new IllegalArgumentException("tensor " + tensor + " has too few values for its shape");
        int sinkN = Math.max(0, Math.min(transform.sinkTokens(), s));
        int b = transform.blockTokens();
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

        // block layout: block j holds tokens sink + j*B ... ; transform each block along the sequence, all features at once
        double[] after = new double[sinkN + padded];
        System.arraycopy(before, 0, after, 0, sinkN);
        int[] pos = nb == 0 ? new int[0] : transform.standardPositions(1, nb);
        double[] block = new double[b * d], coefficients = new double[b * d];
        double[] blockEnergy = new double[padded];
        String[] bandAt = new String[padded];
        for (int j = 0; j < nb; j++) {
            java.util.Arrays.fill(block, 0.0);
            for (int c = 0; c < b; c++) {
                int t = sinkN + j * b + c;
                if (t < s) for (int k = 0; k < d; k++) block[c * d + k] = values[t * d + k];
            }
            transform.forwardBlockColumns(block, d, coefficients);
            for (int c = 0; c < b; c++) {
                double e = 0;
                for (int k = 0; k < d; k++) e += coefficients[c * d + k] * coefficients[c * d + k];
                blockEnergy[j * b + c] = e;
                bandAt[pos[j * b + c]] = transform.bandOf(c);
            }
        }
        for (int i = 0; i < padded; i++) after[sinkN + pos[i]] += blockEnergy[i];

        int band = nb; // one band coefficient (c = 0) per block
        int hiAfterN = hiTokens > 0 ? Math.min(hiTokens, sinkN + padded) : sinkN + band;
        int hiBeforeN = Math.min(s, hiAfterN);
        boolean[] hiBefore = new boolean[s];
        for (int t = 0; t < hiBeforeN; t++) hiBefore[t] = true;
        boolean[] hiAfter = new boolean[after.length];
        for (int t = 0; t < hiAfterN; t++) hiAfter[t] = true;

        // the transform's bands are runs of consecutive standard positions
        List<Band> bands = new ArrayList<>();
        if (sinkN > 0) bands.add(new Band("sink", 0, sinkN));
        for (int p = 0; p < padded; ) {
            int q = p;
            while (q < padded && bandAt[q].equals(bandAt[p])) q++;
            bands.add(new Band(bandAt[p], sinkN + p, q - p));
            p = q;
        }
        return new Profile(layer, tensor, shape.clone(), transform, sinkN, hiBits, loBits, before, after, hiBefore, hiAfter,
                List.copyOf(bands), note);
    }

    /**
     * The 1D transform a rewritten layer inserted, read from the ai.stamp function names near its output tensor
     * ({@code <Op>[Inverse]_l<L>_s<S>}, e.g. DctSequenceInverse_l3_s1): empty when none is found (the matched
     * baseline inserts no transform) or it is a 2D one.
     */
    static java.util.Optional<SequenceTransform> insertedTransform(OnnxMl.ModelProto rewritten, String output) {
        Map<String, OnnxMl.NodeProto> producer = new HashMap<>();
        for (OnnxMl.NodeProto n : rewritten.getGraph().getNodeList()) for (String o : n.getOutputList()) producer.put(o, n);
        java.util.regex.Pattern name = java.util.regex.Pattern.compile("(\\w+?)(?:Inverse)?_l(\\d+)_s(\\d+)");
        // the inverse produces the output, or with --inverse-at input the MatMul that does: look two producers up, no
        // further (beyond that lie earlier layers' ops)
        List<String> tensors = List.of(output);
        for (int depth = 0; depth < 2; depth++) {
            List<String> next = new ArrayList<>();
            for (String tensor : tensors) {
                OnnxMl.NodeProto n = producer.get(tensor);
                if (n == null) continue;
                java.util.regex.Matcher m = name.matcher(n.getOpType());
                if (n.getDomain().equals(ai.stamp.ops.StampDomain.NAME) && m.matches()) {
                    for (String id : SequenceTransforms.ids()) {
                        if (SequenceTransforms.isGrid(id)) continue;
                        SequenceTransform t = SequenceTransforms.of(id, Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
                        if (t.opName().equals(m.group(1))) return java.util.Optional.of(t);
                    }
                }
                next.addAll(n.getInputList());
            }
            tensors = next;
        }
        return java.util.Optional.empty();
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
        String configured = cfg.getOrDefault("transform", HaarTransform.ID);
        String output = layers.stream().filter(l -> l.name().equals(name)).findFirst().orElseThrow().output();
        // the layer's own transform (energy allocation picks its levels per layer), else the config's 1D transform
        SequenceTransform transform = insertedTransform(rewritten.proto(), output).orElse(null);
        if (transform == null) {
            boolean oneD = SequenceTransforms.isKnown(configured) && !SequenceTransforms.isGrid(configured);
            String id = oneD ? configured : HaarTransform.ID;
            transform = SequenceTransforms.of(id, levels, sink);
            notes.add("The rewritten layer inserts no 1D sequence transform (mode=" + mode + " transform=" + configured
                    + (cfg.containsKey("grid") ? " grid=" + cfg.get("grid") : "") + "): the 'after' plot shows what the "
                    + transform.displayName() + " with levels=" + levels + " would do.");
        }
        if (mode.equals("transform-only")) {
            notes.add("mode=transform-only quantizes nothing: the highlight shows the tokens the default rule would keep at " + hiBits + " bits.");
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
        return profile(name, tensor, x.values(), x.shape(), transform, hiTokens, hiBits, loBits, String.join(" ", notes));
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
