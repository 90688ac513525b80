package ai.stamp.ops;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The registry of sequence transforms by id, and the compiler's entry point to their ops. Adding a
 * transform is one {@link SequenceTransform} class plus one {@code register} line below.
 */
public final class SequenceTransforms {
    private SequenceTransforms() {}

    /** Builds one transform family at a geometry. */
    @FunctionalInterface
    public interface Factory {
        SequenceTransform create(int levels, int sinkTokens, int gridHeight);
    }

    /** A 1D family's constructor (it has no grid height). */
    @FunctionalInterface
    private interface OneDimensional {
        SequenceTransform create(int levels, int sinkTokens);
    }

    /** Insertion-ordered, so {@link #ids()} lists the families in a stable order for help texts. */
    private static final Map<String, Factory> FAMILIES = new LinkedHashMap<>();
    /** The families that transform a 2D token grid (they need a grid height). */
    private static final java.util.Set<String> GRID_FAMILIES = new java.util.HashSet<>();

    static {
        register(HaarTransform.ID, oneDimensional(HaarTransform.ID, HaarTransform::new));
        register(Haar2dTransform.ID, Haar2dTransform::new);
        GRID_FAMILIES.add(Haar2dTransform.ID);
        register(DctTransform.ID, oneDimensional(DctTransform.ID, DctTransform::new));
        register(WhtTransform.ID, oneDimensional(WhtTransform.ID, WhtTransform::new));
    }

    private static void register(String id, Factory factory) {
        if (FAMILIES.putIfAbsent(id, factory) != null) throw new IllegalStateException("transform id '" + id + "' registered twice");
    }

    /** A 1D family takes no grid: a grid height other than 0 is a caller mix-up, not something to ignore. */
    private static Factory oneDimensional(String id, OneDimensional constructor) {
        return (levels, sinkTokens, gridHeight) -> {
            if (gridHeight != 0) {
                throw new IllegalArgumentException("'" + id + "' is a 1D transform and takes no grid height, got " + gridHeight);
            }
            return constructor.create(levels, sinkTokens);
        };
    }

    /** Whether {@code id} names a registered family. */
    public static boolean isKnown(String id) { return FAMILIES.containsKey(id); }

    /** Whether the family {@code id} transforms a 2D token grid (and so needs a grid height). */
    public static boolean isGrid(String id) { return GRID_FAMILIES.contains(id); }

    /** The registered ids, in registration order: "haar", "haar2d", "dct", "wht". */
    public static List<String> ids() { return List.copyOf(FAMILIES.keySet()); }

    /**
     * The transform {@code id} at a geometry; {@code gridHeight} is the 2D grid's row count, and must be 0
     * for 1D transforms.
     */
    public static SequenceTransform of(String id, int levels, int sinkTokens, int gridHeight) {
        Factory f = FAMILIES.get(id);
        if (f == null) throw new IllegalArgumentException("unknown sequence transform '" + id + "', known: " + String.join(", ", ids()));
        return f.create(levels, sinkTokens, gridHeight);
    }

    /** A 1D transform {@code id} at a geometry. */
    public static SequenceTransform of(String id, int levels, int sinkTokens) {
        return of(id, levels, sinkTokens, 0);
    }

    /** The op computing Z = L·pad(X) in block layout: X [lead..., S, D] -> Z [M, T, D]. */
    public static StampOp forward(SequenceLayout layout) {
        if (layout.identity()) throw new IllegalArgumentException("the identity layout has no transform op");
        return layout.sequenceTransform().forward();
    }

    /** The op computing crop(Lᵀ·Y) with inputs (Y [M, T, N], X the forward input) -> [lead..., S, N]. */
    public static StampOp inverse(SequenceLayout layout) {
        if (layout.identity()) throw new IllegalArgumentException("the identity layout has no transform op");
        return layout.sequenceTransform().inverse();
    }

    /** The geometry checks every transform shares. */
    static void requireGeometry(int levels, int sinkTokens) {
        if (levels < 0) throw new IllegalArgumentException("levels must be >= 0, got " + levels);
        if (sinkTokens < 0) throw new IllegalArgumentException("sink tokens must be >= 0, got " + sinkTokens);
    }
}
