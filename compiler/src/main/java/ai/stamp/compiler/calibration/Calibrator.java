package ai.stamp.compiler.calibration;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.ir.GraphOutputs;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.passes.linear.LayerMatches;
import ai.stamp.ops.HaarTransform;
import ai.stamp.ops.SequenceTransform;
import ai.stamp.ops.SequenceTransforms;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Collects {@link CalibrationStats} of a model by running the ORIGINAL model in ONNX Runtime (CPU) on calibration
 * samples and reducing every linear-layer input tensor on the fly (docs/method.md (#weights, #feature-transforms, #energy-allocation)).
 *
 * <p><b>Which tensors.</b> The caller names them: the inputs of the main graph's linear layers as the compiler
 * matched them ({@code StampCompiler.Compilation#calibrationTensors()}, from {@link LayerMatches}), so calibration
 * never matches on its own. Linear layers inside subgraphs (If/Loop/Scan bodies) get no statistics: their inputs
 * cannot be exposed as graph outputs. Each tensor is added as
 * an extra graph output (elem type FLOAT, no shape) to an in-memory copy of the model; the model file is never
 * touched. A tensor that is itself a graph input is read from the sample's feed. Tensors whose declared element
 * type is not FLOAT are skipped (reported through {@code progress}).
 *
 * <p><b>Reduction.</b> Each X [..., S, D] is treated as prod(leading) sequences of S tokens of D features:
 * <ul>
 *   <li>{@code channelAbsMax[d]} = max |X[t, d]| over all token rows;</li>
 *   <li>{@code gram} = Σ_t x_tᵀ x_t over all token rows, double [D, D] row-major — only when
 *       {@link Options#gram()} (D² memory, tokens·D²/2 time);</li>
 *   <li>{@code coefficientEnergy[L]} for L = 1..{@link #MAX_LEVELS} with 2^L ≤ S − sink: the first
 *       {@code sinkTokens} tokens are dropped, the rest zero-padded to a multiple of 2^L and cut into blocks of 2^L
 *       tokens; coefficient c of a block is the configured 1D {@link SequenceTransform}'s
 *       {@link SequenceTransform#forwardBlockColumns} of the block (per feature), the block layout the runtime ops
 *       use; entry c is the mean of Σ_d z_c,d² over all blocks of all sequences and
 *       samples;</li>
 *   <li>{@code sinkEnergy} = mean ‖x_t‖² over the sink tokens.</li>
 * </ul>
 * Memory is bounded by the statistics (O(D²) per tensor with the gram, O(D) otherwise) plus one sample's outputs;
 * samples are never kept.
 */
public final class Calibrator {
    /** Largest level count whose coefficient energies are collected. */
    public static final int MAX_LEVELS = 5;
    /** ORT session config key that points ORT at the folder holding a model's external data files. */
    public static final String EXTERNAL_FOLDER_KEY = "session.model_external_initializers_file_folder_path";

    private Calibrator() {}

    /**
     * What to collect.
     *
     * @param sinkTokens leading tokens of each sequence excluded from the coefficient energies (their energy goes to
     *                   sinkEnergy)
     * @param gram       whether to accumulate X^T X (needed by GPTQ)
     * @param transform  the 1D sequence transform whose coefficient energies are collected (an id of
     *                   {@link SequenceTransforms}; energy allocation plans with the same one)
     */
    public record Options(int sinkTokens, boolean gram, String transform) {
        /**
         * Checks the values; throws IllegalArgumentException when one is out of range.
         *
         * @param sinkTokens leading tokens excluded from the energies
         * @param gram       whether to accumulate X^T X
         * @param transform  a 1D sequence transform id
         */
        public Options {
            if (sinkTokens < 0) throw new IllegalArgumentException("sinkTokens must be >= 0, got " + sinkTokens);
            if (!SequenceTransforms.isKnown(transform) || SequenceTransforms.isGrid(transform)) {
                throw new IllegalArgumentException("coefficient energies need a 1D sequence transform, got '" + transform + "'");
            }
        }

        /**
         * What {@code config} needs: its sink tokens, the gram only for GPTQ weights, the energies of its transform
         * (of the 1D Haar when it has none, or a 2D one, which energy allocation does not support).
         *
         * @param config the compile's config
         * @return the options
         */
        public static Options of(StampConfig config) {
            String t = config.sequence().identity() || config.sequence().onGrid() ? HaarTransform.ID : config.transform();
            return new Options(config.sinkTokens(), config.weights().isGptq(), t);
        }
    }

    /**
     * Runs {@code original} on every sample and returns the reduced statistics of its linear-layer inputs.
     *
     * @param original       the original (not rewritten) model
     * @param modelDirectory the folder of the model file, where its external data lives (may be null when the model
     *                       has none)
     * @param tensors        the linear-layer inputs to reduce (main-graph tensors)
     * @param samples        the feeds, one map per run, by graph input name; inputs the model does not declare are
     *                       ignored. The calibrator CLOSES each sample's tensors once it has run it, so the iterable
     *                       may create them lazily.
     * @param opts           what to collect
     * @param progress       receives "calibration: sample i/n" per sample and notes about skipped tensors; may be null
     * @return per tensor statistics; {@link CalibrationStats#samples()} is the number of samples run
     * @throws StampException RUNTIME_FAILURE when ORT cannot load or run the model, BAD_OPTION when there are no
     *                        samples or a tensor changes its feature size between samples
     */
    public static CalibrationStats collect(OnnxMl.ModelProto original, Path modelDirectory, List<String> tensors,
                                           Iterable<Map<String, OnnxTensor>> samples, Options opts, Consumer<String> progress) {
        Consumer<String> log = progress == null ? s -> {} : progress;
        OnnxMl.GraphProto g = original.getGraph();
        Set<String> graphInputs = new HashSet<>();
        for (OnnxMl.ValueInfoProto v : g.getInputList()) graphInputs.add(v.getName());
        Map<String, Integer> declared = new HashMap<>();
        for (OnnxMl.ValueInfoProto v : g.getValueInfoList()) putType(declared, v);
        for (OnnxMl.ValueInfoProto v : g.getInputList()) putType(declared, v);
        for (OnnxMl.ValueInfoProto v : g.getOutputList()) putType(declared, v);

        Map<String, Accumulator> acc = new LinkedHashMap<>();
        for (String t : tensors) {
            Integer type = declared.get(t);
            if (type != null && type != OnnxMl.TensorProto.DataType.FLOAT_VALUE) {
                log.accept("calibration: skipping " + t + " (element type " + OnnxMl.TensorProto.DataType.forNumber(type) + ", not float)");
                continue;
            }
            acc.put(t, new Accumulator(t, opts));
        }
        OnnxMl.ModelProto probe = GraphOutputs.expose(original, acc.keySet());

        int total = samples instanceof Collection<?> c ? c.size() : -1;
        int count = 0;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setIntraOpNumThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
            if (modelDirectory != null && hasExternalData(g)) so.addConfigEntry(EXTERNAL_FOLDER_KEY, modelDirectory.toString());
            try (OrtSession session = env.createSession(probe.toByteArray(), so)) {
                Set<String> sessionInputs = session.getInputNames();
                for (Map<String, OnnxTensor> sample : samples) {
                    count++;
                    log.accept("calibration: sample " + count + (total >= 0 ? "/" + total : ""));
                    try {
                        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
                        for (Map.Entry<String, OnnxTensor> e : sample.entrySet()) {
                            if (sessionInputs.contains(e.getKey())) feeds.put(e.getKey(), e.getValue());
                        }
                        for (Accumulator a : acc.values()) {
                            OnnxTensor fed = feeds.get(a.tensor);
                            if (fed != null) a.add(floats(fed), fed.getInfo().getShape());
                        }
                        try (OrtSession.Result r = session.run(feeds)) {
                            for (Map.Entry<String, OnnxValue> e : r) {
                                Accumulator a = acc.get(e.getKey());
                                if (a == null || graphInputs.contains(e.getKey()) || !(e.getValue() instanceof OnnxTensor t)) continue;
                                float[] data = floats(t);
                                if (data != null) a.add(data, t.getInfo().getShape());
                            }
                        }
                    } finally {
                        for (OnnxTensor t : sample.values()) t.close();
                    }
                }
            }
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "calibration: ONNX Runtime failed: " + firstLine(e), e);
        }
        if (count == 0) throw new StampException(StampException.Kind.BAD_OPTION, "calibration needs at least one sample");
        Map<String, ActivationStats> out = new LinkedHashMap<>();
        for (Accumulator a : acc.values()) {
            if (a.tokens > 0) out.put(a.tensor, a.finish());
            else log.accept("calibration: no values seen for " + a.tensor);
        }
        return new CalibrationStats(out, count, opts.sinkTokens(), opts.transform());
    }

    private static void putType(Map<String, Integer> types, OnnxMl.ValueInfoProto v) {
        if (v.getType().hasTensorType() && v.getType().getTensorType().getElemType() != 0) {
            types.put(v.getName(), v.getType().getTensorType().getElemType());
        }
    }

    private static boolean hasExternalData(OnnxMl.GraphProto g) {
        for (OnnxMl.TensorProto t : g.getInitializerList()) {
            if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) return true;
        }
        return false;
    }

    /** A FLOAT or DOUBLE tensor's values as floats; null for other types. */
    private static float[] floats(OnnxTensor t) {
        TensorInfo info = t.getInfo();
        if (info.type == ai.onnxruntime.OnnxJavaType.FLOAT) {
            FloatBuffer b = t.getFloatBuffer();
            float[] f = new float[b.remaining()];
            b.get(f);
            return f;
        }
        if (info.type == ai.onnxruntime.OnnxJavaType.DOUBLE) {
            DoubleBuffer b = t.getDoubleBuffer();
            float[] f = new float[b.remaining()];
            for (int i = 0; i < f.length; i++) f[i] = (float) b.get(i);
            return f;
        }
        return null;
    }

    private static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** Running reduction of one tensor. */
    static final class Accumulator {
        final String tensor;
        private final int sink;
        private final boolean wantGram;
        private final String transform;
        private int d = -1;
        long tokens;
        private float[] absMax;
        private double[] gram;
        private final double[][] energySum = new double[MAX_LEVELS + 1][];
        private final long[] blocks = new long[MAX_LEVELS + 1];
        private double sinkSum;
        private long sinkCount;

        Accumulator(String tensor, Options opts) {
            this.tensor = tensor;
            this.sink = opts.sinkTokens();
            this.wantGram = opts.gram();
            this.transform = opts.transform();
        }

        /** Adds one tensor value of {@code shape} [..., S, D] (rank 1 counts as one token). */
        void add(float[] x, long[] shape) {
            int features = shape.length == 0 ? 1 : (int) shape[shape.length - 1];
            int s = shape.length < 2 ? 1 : (int) shape[shape.length - 2];
            if (features <= 0 || s <= 0 || x.length == 0) return;
            if (d < 0) {
                d = features;
                absMax = new float[d];
                if (wantGram) gram = new double[d * d];
            } else if (d != features) {
                throw new StampException(StampException.Kind.BAD_OPTION, "calibration: tensor " + tensor + " has " + features
                        + " features in one sample and " + d + " in another");
            }
            int slices = x.length / (s * d);
            double[] buf = new double[s * d];
            for (int sl = 0; sl < slices; sl++) {
                int base = sl * s * d;
                for (int i = 0; i < s * d; i++) {
                    float v = x[base + i];
                    buf[i] = v;
                    int c = i % d;
                    float a = Math.abs(v);
                    if (a > absMax[c] || Float.isNaN(a)) absMax[c] = a;
                }
                if (gram != null) addGram(buf, s);
                addSequence(buf, s);
                tokens += s;
            }
        }

        /** Upper triangle of Σ_t x_t^T x_t (mirrored in {@link #finish()}). */
        private void addGram(double[] buf, int s) {
            final int rowsPerBlock = 32; // a block of gram rows stays in L2 while every token row streams past
            int nBlocks = (d + rowsPerBlock - 1) / rowsPerBlock;
            // row blocks are disjoint: spread them over the cores
            java.util.stream.IntStream.range(0, nBlocks).parallel().forEach(blk -> {
                int ib = blk * rowsPerBlock;
                int ie = Math.min(d, ib + rowsPerBlock);
                for (int t = 0; t < s; t++) {
                    int tb = t * d;
                    for (int i = ib; i < ie; i++) {
                        double xi = buf[tb + i];
                        if (xi == 0) continue;
                        int row = i * d;
                        for (int j = i; j < d; j++) gram[row + j] += xi * buf[tb + j];
                    }
                }
            });
        }

        private void addSequence(double[] buf, int s) {
            int k = Math.min(sink, s);
            for (int t = 0; t < k; t++) {
                double e = 0;
                for (int c = 0; c < d; c++) {
                    double v = buf[t * d + c];
                    e += v * v;
                }
                sinkSum += e;
                sinkCount++;
            }
            int n = s - k;
            for (int levels = 1; levels <= MAX_LEVELS; levels++) {
                int b = 1 << levels;
                if (b > n) break;
                if (energySum[levels] == null) energySum[levels] = new double[b];
                SequenceTransform t = SequenceTransforms.of(transform, levels, 0);
                double[] block = new double[b * d];
                double[] coefficients = new double[b * d];
                for (int start = k; start < s; start += b) {
                    int rows = Math.min(b, s - start);
                    System.arraycopy(buf, start * d, block, 0, rows * d);
                    if (rows < b) java.util.Arrays.fill(block, rows * d, b * d, 0.0);
                    t.forwardBlockColumns(block, d, coefficients);
                    double[] es = energySum[levels];
                    for (int c = 0; c < b; c++) {
                        double e = 0;
                        int off = c * d;
                        for (int f = 0; f < d; f++) e += coefficients[off + f] * coefficients[off + f];
                        es[c] += e;
                    }
                    blocks[levels]++;
                }
            }
        }

        ActivationStats finish() {
            if (gram != null) {
                for (int i = 0; i < d; i++) {
                    for (int j = 0; j < i; j++) gram[i * d + j] = gram[j * d + i];
                }
            }
            Map<Integer, double[]> energy = new LinkedHashMap<>();
            for (int l = 1; l <= MAX_LEVELS; l++) {
                if (energySum[l] == null || blocks[l] == 0) continue;
                double[] mean = energySum[l].clone();
                for (int c = 0; c < mean.length; c++) mean[c] /= blocks[l];
                energy.put(l, mean);
            }
            return new ActivationStats(tensor, d, tokens, absMax, gram, Map.copyOf(energy), sinkCount == 0 ? 0 : sinkSum / sinkCount);
        }
    }
}
