package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.calibration.Calibrator;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.io.LoadedModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Calibration samples for {@code rewrite --calib} / {@code inspect --calib}, and the run of the {@link Calibrator}.
 *
 * <p><b>Text FILE</b> (token-id models only): the whole file (UTF-8) is tokenized exactly as {@code validate} does
 * ({@link TokenWindows}: consecutive windows of {@code seqLen} tokens, special tokens included, batch 1,
 * attention_mask ones, token_type_ids zeros), and the first {@code samples} windows are used — fewer when the text is
 * shorter (at least one window is needed). A causal LM with a KV cache gets each window as its prefill call
 * ({@link CausalLm#prefillSamples}: position_ids 0.., every past input empty).
 *
 * <p><b>DIR</b> of ONNX {@code TensorProto} files (as onnx's {@code numpy_helper.from_array(a).SerializeToString()}
 * writes them), each named after the graph input it feeds, {@code <input>.pb}:
 * <pre>
 *   calib/input_ids.pb, calib/attention_mask.pb          one sample
 *   calib/0/x.pb, calib/1/x.pb, calib/2/x.pb             one sample per numbered subfolder (numeric order)
 * </pre>
 * Every sample must give every graph input (initializers excepted); a .pb file named after no input is an error.
 * Data may be in raw_data or the typed fields; float, double, int64, int32 and bool are read. Samples are read one at
 * a time as the calibrator asks for them.
 */
public final class CalibrationInputs {
    private CalibrationInputs() {}

    /** What {@code --calib} and its companions said. */
    public record Source(Path path, Path tokenizer, int seqLen, int samples) {}

    /**
     * Runs the calibrator for {@code config} on {@code model} with the samples of {@code source}; {@code progress}
     * (may be null) receives one line per sample and a summary.
     */
    public static CalibrationStats collect(LoadedModel model, StampConfig config, Source source, Consumer<String> progress) {
        return collect(StampCompiler.prepare(model.proto(), config, ExternalWeights.NONE), model, config, source, progress);
    }

    /**
     * As above for a compilation of {@code model} already prepared: its matches name the tensors, and its model (after
     * any {@code --dequantize-weights}) is what runs.
     */
    public static CalibrationStats collect(StampCompiler.Compilation compilation, LoadedModel model, StampConfig config, Source source,
                                           Consumer<String> progress) {
        long t0 = System.nanoTime();
        List<ModelInputs.Sample> samples = load(model, source);
        CalibrationStats stats = Calibrator.collect(compilation.model(), model.directory(), compilation.calibrationTensors(), tensors(samples),
                Calibrator.Options.of(config), progress);
        if (progress != null) {
            progress.accept(String.format("calibration: %d tensor(s) from %d sample(s)%s in %.1f s", stats.byTensor().size(),
                    stats.samples(), config.weights().isGptq() ? " with X^T X" : "", (System.nanoTime() - t0) / 1e9));
        }
        return stats;
    }

    /** The samples of {@code source} for {@code model} (lazy for a directory: each sample is read when asked for). */
    public static List<ModelInputs.Sample> load(LoadedModel model, Source source) {
        Path p = source.path();
        if (Files.isDirectory(p)) return fromDirectory(model.proto(), p);
        if (!Files.isRegularFile(p)) throw new StampException(StampException.Kind.INPUT_MISSING, "--calib " + p + " does not exist");
        if (p.getFileName().toString().endsWith(".pb")) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--calib " + p + " is a single .pb file: put the .pb files of one "
                    + "sample in a directory and give the directory");
        }
        if (!ModelInputs.takesTokenIds(model.proto())) {
            throw new StampException(StampException.Kind.BAD_OPTION, model.path().getFileName() + " does not take token ids ("
                    + ModelInputs.describe(model.proto()) + "): give --calib a directory of <input>.pb TensorProto files, not a text file");
        }
        String text;
        try {
            text = Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "cannot read --calib " + p + ": " + e.getMessage(), e);
        }
        Path tok = source.tokenizer() != null ? source.tokenizer() : TokenWindows.findBeside(model.path());
        if (tok == null) {
            throw new StampException(StampException.Kind.INPUT_MISSING, model.path().getFileName() + " takes token ids but no tokenizer was found: "
                    + "give --tokenizer FILE (a HuggingFace tokenizer.json) or put tokenizer.json beside the model");
        }
        try (TokenWindows tw = TokenWindows.load(tok)) {
            int available = tw.windowCount(text, source.seqLen());
            if (available < 1) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--calib " + p + " is shorter than one window of "
                        + source.seqLen() + " tokens: give a longer text or a smaller --calib-seq-len");
            }
            List<long[]> windows = tw.windows(text, source.seqLen(), Math.min(available, source.samples()));
            // a decoder also takes its (empty) KV cache: the prefill feed the perplexity runner gives its first call
            return CausalLm.takesCache(model.proto()) ? CausalLm.prefillSamples(model, windows) : ModelInputs.fromWindows(model.proto(), windows);
        }
    }

    /** The samples of a .pb directory (see the class comment). */
    static List<ModelInputs.Sample> fromDirectory(OnnxMl.ModelProto model, Path dir) {
        List<Path> sampleDirs;
        if (!pbFiles(dir).isEmpty()) {
            sampleDirs = List.of(dir);
        } else {
            try (Stream<Path> s = Files.list(dir)) {
                sampleDirs = s.filter(Files::isDirectory).filter(d -> d.getFileName().toString().matches("\\d+"))
                        .sorted(Comparator.comparingLong(d -> Long.parseLong(d.getFileName().toString())))
                        .collect(Collectors.toList());
            } catch (IOException e) {
                throw new StampException(StampException.Kind.INPUT_MISSING, "cannot list --calib " + dir + ": " + e.getMessage(), e);
            }
            sampleDirs.removeIf(d -> pbFiles(d).isEmpty());
            if (sampleDirs.isEmpty()) {
                throw new StampException(StampException.Kind.INPUT_MISSING, "--calib " + dir + " holds no .pb tensors: expected <input>.pb files "
                        + "(inputs: " + ModelInputs.describe(model) + ") in it or in numbered subfolders 0/, 1/, ...");
            }
        }
        Set<String> inputs = new TreeSet<>();
        for (ModelInputs.Declared d : ModelInputs.declaredInputs(model)) inputs.add(d.name());
        List<Path> dirs = List.copyOf(sampleDirs);
        return new AbstractList<>() {
            @Override public ModelInputs.Sample get(int i) { return readSample(dirs.get(i), inputs); }

            @Override public int size() { return dirs.size(); }
        };
    }

    private static List<Path> pbFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> Files.isRegularFile(f) && f.getFileName().toString().endsWith(".pb")).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static ModelInputs.Sample readSample(Path dir, Set<String> inputs) {
        Map<String, ModelInputs.Input> feeds = new LinkedHashMap<>();
        for (Path f : pbFiles(dir)) {
            String name = f.getFileName().toString();
            name = name.substring(0, name.length() - 3);
            if (!inputs.contains(name)) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--calib " + f + " is named after no graph input (inputs: "
                        + String.join(", ", inputs) + ")");
            }
            feeds.put(name, readTensor(f));
        }
        for (String in : inputs) {
            if (!feeds.containsKey(in)) {
                throw new StampException(StampException.Kind.INPUT_MISSING, "--calib " + dir + " has no " + in + ".pb for graph input " + in);
            }
        }
        return new ModelInputs.Sample(feeds, null);
    }

    /** Reads one serialized TensorProto. */
    static ModelInputs.Input readTensor(Path file) {
        OnnxMl.TensorProto t;
        try (InputStream in = Files.newInputStream(file)) {
            t = OnnxMl.TensorProto.parseFrom(in);
        } catch (IOException e) {
            throw new StampException(StampException.Kind.NOT_ONNX, "--calib " + file + " is not an ONNX TensorProto: " + TokenWindows.firstLine(e), e);
        }
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "--calib " + file + " keeps its data externally; store it in the .pb");
        }
        long[] shape = new long[t.getDimsCount()];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.getDims(i);
            n *= shape[i];
        }
        if (n > Integer.MAX_VALUE) throw new StampException(StampException.Kind.BAD_OPTION, "--calib " + file + " has " + n + " values");
        int len = (int) n;
        ByteBuffer raw = t.getRawData().isEmpty() ? null : t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        Object data;
        switch (t.getDataType()) {
            case OnnxMl.TensorProto.DataType.FLOAT_VALUE: {
                float[] v = new float[len];
                if (raw != null) raw.asFloatBuffer().get(v);
                else for (int i = 0; i < len; i++) v[i] = t.getFloatData(i);
                data = v;
                break;
            }
            case OnnxMl.TensorProto.DataType.DOUBLE_VALUE: {
                double[] v = new double[len];
                if (raw != null) raw.asDoubleBuffer().get(v);
                else for (int i = 0; i < len; i++) v[i] = t.getDoubleData(i);
                data = v;
                break;
            }
            case OnnxMl.TensorProto.DataType.INT64_VALUE: {
                long[] v = new long[len];
                if (raw != null) raw.asLongBuffer().get(v);
                else for (int i = 0; i < len; i++) v[i] = t.getInt64Data(i);
                data = v;
                break;
            }
            case OnnxMl.TensorProto.DataType.INT32_VALUE: {
                int[] v = new int[len];
                if (raw != null) raw.asIntBuffer().get(v);
                else for (int i = 0; i < len; i++) v[i] = t.getInt32Data(i);
                data = v;
                break;
            }
            case OnnxMl.TensorProto.DataType.BOOL_VALUE: {
                boolean[] v = new boolean[len];
                for (int i = 0; i < len; i++) v[i] = raw != null ? raw.get(i) != 0 : t.getInt32Data(i) != 0;
                data = v;
                break;
            }
            default:
                throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "--calib " + file + " has element type "
                        + OnnxMl.TensorProto.DataType.forNumber(t.getDataType()) + "; float, double, int64, int32 and bool are read");
        }
        return new ModelInputs.Input(shape, data);
    }

    /** The samples as ORT feeds, each created when the calibrator asks for it (the calibrator closes them). */
    static List<Map<String, OnnxTensor>> tensors(List<ModelInputs.Sample> samples) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        return new AbstractList<>() {
            @Override public Map<String, OnnxTensor> get(int i) {
                Map<String, OnnxTensor> m = new LinkedHashMap<>();
                try {
                    for (Map.Entry<String, ModelInputs.Input> e : samples.get(i).inputs().entrySet()) m.put(e.getKey(), e.getValue().toTensor(env));
                } catch (OrtException e) {
                    m.values().forEach(OnnxTensor::close);
                    throw new StampException(StampException.Kind.RUNTIME_FAILURE, "cannot make calibration tensors: " + TokenWindows.firstLine(e), e);
                }
                return m;
            }

            @Override public int size() { return samples.size(); }
        };
    }
}
