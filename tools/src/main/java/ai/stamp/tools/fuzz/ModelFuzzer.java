package ai.stamp.tools.fuzz;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampException;
import ai.stamp.testmodels.RealModels;
import ai.stamp.testmodels.TinyGraphs;
import ai.stamp.tools.StampCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * Feeds mutated models to the real CLI ({@code StampCli.run}, in-process) and checks that every run ends with a
 * documented exit code (0 or a {@link StampException.Kind} code): exit 1 (internal error), an exception escaping
 * the CLI, or a run that hangs is a FINDING. When the CLI exits 0, ONNX Runtime must be able to create a session
 * from the output, unless ORT rejects the mutated input too (counted separately).
 *
 * <pre>
 * java -cp tools/target/stamp-onnx.jar ai.stamp.tools.fuzz.ModelFuzzer [--cases N] [--from I] [--seconds S] [--seed S]
 *     [--case I] [--minilm] [--onnx-checker] [-v]
 * </pre>
 * Case {@code I} of seed {@code S} is reproducible on its own with {@code --seed S --case I} (add {@code -v} for the
 * CLI's stderr); {@code --from I} starts a run at case I, so that two processes can share one seed's range. The seeds
 * are TinyGraphs models (encoder block at opsets 11/13/17/21, ViT-like, If body, a QDQ and a dynamic-quantized
 * variant), stories260K in float32 and float16, and, 1 case in 50 each, the int8 MiniLM and PP-OCRv4's recognizer;
 * {@code --minilm} adds all-MiniLM-L6-v2 (90 MB, slow, 1 case in 50). A model refused as an invalid graph (exit 6)
 * must be one ORT rejects too; {@code --onnx-checker} also gives every output ORT loads to onnx's full checker, which
 * must accept it when it accepts the input.
 */
public final class ModelFuzzer {
    /** The mutation applied to a case. */
    public enum Kind { NONE, BIT_FLIP, BYTE_NOISE, TRUNCATE, SPLICE, ABSURD_DIMS, DANGLING_INPUT, NODE_CYCLE, DUPLICATE_OUTPUT,
        WRONG_ATTRIBUTE_TYPE, DROP_INITIALIZER, ODD_VERSION,
        // the kinds an independent fuzz found defects with (issue 12)
        ABSURD_SHAPE_HINT, NON_FINITE_WEIGHT, HUGE_WEIGHT, DUPLICATE_OPSET, INTEGER_WEIGHT, SHARED_WEIGHT }

    static final Set<Integer> DOCUMENTED = documented();
    /** What GraphValidation's refusals say: a model refused so must be one ONNX Runtime rejects too. */
    private static final String INVALID_GRAPH = "is not a valid ONNX graph";
    private static final String[][] OPTION_SETS = {
        {}, {"--allow-noop"}, {"--weights", "rtn8", "--allow-noop"}, {"--transform", "haar2d", "--allow-noop"},
        {"--mode", "baseline"}, {"--dequantize-weights", "--allow-noop"}, {"--rotate", "hadamard", "--weights", "rtn4", "--allow-noop"},
        {"--dry-run"}, {"--hi-tokens", "3", "--levels", "1", "--allow-noop"},
    };

    /** One problem: the case that reproduces it and what happened. */
    public record Finding(long seed, int index, Kind kind, String what) {
        @Override public String toString() {
            return "FINDING seed=" + seed + " case=" + index + " kind=" + kind + ": " + what
                    + "  (reproduce: ModelFuzzer --seed " + seed + " --case " + index + " -v)";
        }
    }

    /** Counts of one run. */
    public static final class Summary {
        public int cases;
        public final Map<Kind, Integer> perKind = new EnumMap<>(Kind.class);
        public final Map<Integer, Integer> exitCodes = new TreeMap<>();
        public int ortLoadedOutput;
        public int ortRejectsInputToo;
        /** Exit 6 "not a valid ONNX graph" on an input ORT rejects too (a refusal ORT does not confirm is a finding). */
        public int refusedInvalid;
        /** For the exit-0 cases whose mutated input ORT rejects too: ORT's reason (digits and quoted names blanked), with a count and the first case. */
        public final Map<String, int[]> inputRejections = new TreeMap<>();
        /** An exit-0 output or an input refused as invalid declaring a dim above 2^31: not given to ORT, whose session creation hangs on such shapes. */
        public int ortSkippedHugeDims;
        /** With {@code --onnx-checker}: exit-0 outputs onnx's full checker accepts, and those it rejects as it rejects the input. */
        public int checkerAcceptedOutput;
        public int checkerRejectsInputToo;
        public final List<Finding> findings = new ArrayList<>();
        public long millis;

        @Override public String toString() {
            StringBuilder sb = new StringBuilder();
            sb.append(cases).append(" cases in ").append(millis / 1000.0).append(" s; findings: ").append(findings.size()).append('\n');
            sb.append("per mutation kind: ").append(perKind).append('\n');
            sb.append("exit codes: ").append(exitCodes).append('\n');
            sb.append("exit 0: ORT loaded the output ").append(ortLoadedOutput).append(", ORT rejects the mutated input too ")
                    .append(ortRejectsInputToo).append(", not given to ORT (a declared dim > 2^31) ").append(ortSkippedHugeDims).append('\n');
            sb.append("exit 6 as an invalid graph, ORT rejecting the input too: ").append(refusedInvalid).append('\n');
            if (checkerAcceptedOutput + checkerRejectsInputToo > 0) {
                sb.append("onnx.checker (full_check) on the outputs ORT loaded: accepted ").append(checkerAcceptedOutput)
                        .append(", rejected as it rejects the input ").append(checkerRejectsInputToo).append('\n');
            }
            inputRejections.entrySet().stream().sorted((a, b) -> b.getValue()[0] - a.getValue()[0]).forEach(e ->
                    sb.append("  input rejected by ORT, rewritten with exit 0: ").append(e.getValue()[0]).append(" × ")
                            .append(e.getKey()).append(" (first: case ").append(e.getValue()[1]).append(")\n"));
            for (Finding f : findings) sb.append(f).append('\n');
            return sb.toString();
        }
    }

    private final List<byte[]> seeds = new ArrayList<>();
    private final byte[] miniLm;
    private final byte[] miniLmQuantized;
    private final byte[] ppOcr;
    private final Path work;
    private final boolean verbose;
    /** Whether exit-0 outputs also go to onnx's full checker ({@code --onnx-checker}; needs Python with onnx). */
    private boolean onnxChecker;

    public ModelFuzzer(Path work, boolean withMiniLm, boolean verbose) { this(work, withMiniLm, verbose, true); }

    /** {@code realSeeds}: also mutate stories260K and the int8 MiniLM (slower cases; a quick test leaves them out). */
    public ModelFuzzer(Path work, boolean withMiniLm, boolean verbose, boolean realSeeds) {
        try {
            OrtEnvironment.getEnvironment(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, "stamp-fuzz");
        } catch (RuntimeException e) {
            // an environment exists already (e.g. in a test JVM): keep its logging level
        }
        this.work = work;
        this.verbose = verbose;
        for (int opset : new int[] {11, 13, 17, 21}) seeds.add(TinyGraphs.encoderBlock(opset, 8, opset).toByteArray());
        seeds.add(TinyGraphs.vitLike(13, 2, 2, 8, 3).toByteArray());
        seeds.add(TinyGraphs.linearInsideIf(13, 8, 4).toByteArray());
        seeds.add(ai.stamp.testmodels.QuantizedGraphs.qdq(13).toByteArray());
        seeds.add(ai.stamp.testmodels.QuantizedGraphs.dynamic(13).toByteArray());
        byte[] q = null;
        byte[] ocr = null;
        if (realSeeds) try {
            // a real decoder (KV cache, GQA, RoPE: 1.2 MB, in the mix, float32 and float16), the real int8 MiniLM
            // (23 MB) and the PP-OCRv4 recognizer (a conv front end, 11 MB): 1 case in 50 each
            seeds.add(Files.readAllBytes(RealModels.stories260K()));
            seeds.add(Files.readAllBytes(RealModels.stories260KFp16()));
            q = Files.readAllBytes(RealModels.miniLmQuantized());
            ocr = Files.readAllBytes(RealModels.ppOcrV4Rec());
        } catch (IOException | RuntimeException e) {
            System.err.println("ModelFuzzer: a real seed model is not available (" + e.getMessage() + ")");
        }
        this.miniLmQuantized = q;
        this.ppOcr = ocr;
        byte[] m = null;
        if (withMiniLm) {
            try {
                m = Files.readAllBytes(RealModels.miniLm());
            } catch (IOException | RuntimeException e) {
                System.err.println("ModelFuzzer: all-MiniLM-L6-v2 not available (" + e.getMessage() + "), small models only");
            }
        }
        this.miniLm = m;
    }

    public static void main(String[] args) throws Exception {
        int cases = 10_000;
        double seconds = 300;
        long seed = 1;
        int only = -1;
        int from = 0;
        boolean minilm = false;
        boolean verbose = false;
        boolean checker = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cases" -> cases = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--case" -> only = Integer.parseInt(args[++i]);
                case "--from" -> from = Integer.parseInt(args[++i]);
                case "--minilm" -> minilm = true;
                case "-v" -> verbose = true;
                case "--onnx-checker" -> checker = true;
                default -> { System.err.println("usage: ModelFuzzer [--cases N] [--from I] [--seconds S] [--seed S] [--case I] [--minilm] [--onnx-checker] [-v]"); System.exit(2); }
            }
        }
        Path work = Files.createTempDirectory("stamp-fuzz");
        ModelFuzzer f = new ModelFuzzer(work, minilm, verbose);
        f.onnxChecker = checker;
        Summary s = only >= 0 ? f.run(seed, only, only + 1, Long.MAX_VALUE) : f.run(seed, from, from + cases, (long) (seconds * 1000));
        System.out.print(s);
        System.exit(s.findings.isEmpty() ? 0 : 1);
    }

    /** Runs cases {@code from} (inclusive) to {@code to} (exclusive) of {@code seed}, stopping after {@code budgetMillis}. */
    public Summary run(long seed, int from, int to, long budgetMillis) {
        Summary s = new Summary();
        long start = System.currentTimeMillis();
        ExecutorService exec = newExecutor();
        try {
            for (int i = from; i < to; i++) {
                if (System.currentTimeMillis() - start > budgetMillis) break;
                Random r = new Random(seed * 1_000_003L + i);
                int pick = r.nextInt(50);
                byte[] base = pick == 0 && miniLm != null ? miniLm : pick == 1 && miniLmQuantized != null ? miniLmQuantized
                        : pick == 2 && ppOcr != null ? ppOcr : seeds.get(r.nextInt(seeds.size()));
                Kind kind = Kind.values()[r.nextInt(Kind.values().length)];
                byte[] input;
                try {
                    input = mutate(kind, base, r);
                } catch (RuntimeException e) {
                    kind = Kind.BIT_FLIP;
                    input = Mutations.bitFlip(base, r);
                }
                String[] options = OPTION_SETS[r.nextInt(OPTION_SETS.length)];
                s.cases++;
                s.perKind.merge(kind, 1, Integer::sum);
                Path dir = work.resolve("c" + i);
                final byte[] in = input;
                final Kind k = kind;
                final int idx = i;
                Future<int[]> fut = exec.submit(() -> one(dir, in, options, s, seed, idx, k));
                try {
                    fut.get(60, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    fut.cancel(true);
                    s.findings.add(new Finding(seed, i, kind, "no result after 60 s (hang?) with options " + Arrays.toString(options)));
                    exec.shutdownNow();
                    exec = newExecutor();
                } catch (java.util.concurrent.ExecutionException e) {
                    s.findings.add(new Finding(seed, i, kind, "harness error " + e.getCause()));
                } finally {
                    if (verbose) System.err.println("kept " + dir);
                    else deleteTree(dir);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            exec.shutdownNow();
        }
        s.millis = System.currentTimeMillis() - start;
        return s;
    }

    private static ExecutorService newExecutor() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
    }

    private int[] one(Path dir, byte[] input, String[] options, Summary s, long seed, int index, Kind kind) throws IOException {
        Files.createDirectories(dir);
        Path in = dir.resolve("in.onnx");
        Path out = dir.resolve("out.onnx");
        Files.write(in, input);
        List<String> args = new ArrayList<>(List.of(in.toString(), out.toString(), "-q"));
        args.addAll(List.of(options));
        StringWriter err = new StringWriter();
        int code;
        try {
            code = StampCli.run(new PrintWriter(new StringWriter()), new PrintWriter(err), args.toArray(String[]::new));
        } catch (Throwable t) {
            synchronized (s) {
                s.findings.add(new Finding(seed, index, kind, "exception escaped the CLI: " + t + " with options " + Arrays.toString(options)));
            }
            return new int[] {-1};
        }
        if (verbose) System.err.println("case " + index + " " + kind + " " + Arrays.toString(options) + " -> " + code + " " + err.toString().strip());
        synchronized (s) {
            s.exitCodes.merge(code, 1, Integer::sum);
            if (!DOCUMENTED.contains(code)) {
                s.findings.add(new Finding(seed, index, kind, "exit " + code + " with options " + Arrays.toString(options) + ": " + err.toString().strip()));
            } else if (code == StampException.Kind.UNSUPPORTED_MODEL.exitCode() && err.toString().contains(INVALID_GRAPH)) {
                // the input check claims ORT refuses the model: ORT must agree
                if (hugeDims(in)) {
                    s.ortSkippedHugeDims++;
                } else if (ortRejects(in) == null) {
                    s.findings.add(new Finding(seed, index, kind, "refused as invalid, but ORT loads the input: " + err.toString().strip()));
                } else {
                    s.refusedInvalid++;
                }
            } else if (code == 0 && Files.exists(out) && hugeDims(out)) {
                s.ortSkippedHugeDims++;
            } else if (code == 0 && Files.exists(out)) {
                String why = ortRejects(out);
                String inputWhy;
                if (why == null) {
                    s.ortLoadedOutput++;
                    if (onnxChecker) checkerVerdict(in, out, options, s, seed, index, kind);
                }
                else if ((inputWhy = ortRejects(in)) != null) {
                    s.ortRejectsInputToo++;
                    s.inputRejections.computeIfAbsent(category(inputWhy), c -> new int[] {0, index})[0]++;
                }
                else s.findings.add(new Finding(seed, index, kind, "ORT rejects the output but loads the input (" + why + ") with options " + Arrays.toString(options)));
            }
        }
        return new int[] {code};
    }

    /** A rewrite must not make a model onnx's full checker accepts into one it rejects. */
    private static void checkerVerdict(Path in, Path out, String[] options, Summary s, long seed, int index, Kind kind) {
        java.util.Optional<String> problem = ai.stamp.testmodels.OnnxChecker.problem(out);
        if (problem.isEmpty()) s.checkerAcceptedOutput++;
        else if (ai.stamp.testmodels.OnnxChecker.problem(in).isPresent()) s.checkerRejectsInputToo++;
        else s.findings.add(new Finding(seed, index, kind, "onnx.checker rejects the output but accepts the input (" + problem.get()
                + ") with options " + Arrays.toString(options)));
    }

    /** ORT's message with what varies between cases (numbers, quoted names, paths) blanked, so that like reasons count together. */
    static String category(String ortMessage) {
        String m = ortMessage.replaceAll("\\[ONNXRuntimeError\\] : \\d+ : [A-Z_]+ : ", "")
                .replaceAll("/[^ :]*\\.onnx", "MODEL").replaceAll("'[^']*'", "'…'").replaceAll("\\d+", "N");
        return m.length() > 160 ? m.substring(0, 160) + "…" : m;
    }

    /** Whether a graph input/output/value_info of the model declares a dim above 2^31 (ORT session creation can hang on it). */
    static boolean hugeDims(Path model) {
        try {
            OnnxMl.GraphProto g = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(model)).getGraph();
            List<OnnxMl.ValueInfoProto> all = new ArrayList<>(g.getInputList());
            all.addAll(g.getOutputList());
            all.addAll(g.getValueInfoList());
            for (OnnxMl.ValueInfoProto v : all) {
                for (OnnxMl.TensorShapeProto.Dimension d : v.getType().getTensorType().getShape().getDimList()) {
                    if (d.hasDimValue() && d.getDimValue() > (1L << 31)) return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /** Null when ORT creates a session from the file, else ORT's message. */
    static String ortRejects(Path model) {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(1);
            o.setInterOpNumThreads(1);
            try (OrtSession ignored = OrtEnvironment.getEnvironment().createSession(model.toString(), o)) {
                return null;
            }
        } catch (OrtException | RuntimeException e) {
            String m = String.valueOf(e.getMessage());
            return m.length() > 300 ? m.substring(0, 300) + "…" : m;
        }
    }

    byte[] mutate(Kind kind, byte[] base, Random r) {
        return switch (kind) {
            case NONE -> base;
            case BIT_FLIP -> Mutations.bitFlip(base, r);
            case BYTE_NOISE -> Mutations.byteNoise(base, r);
            case TRUNCATE -> Arrays.copyOf(base, r.nextInt(Math.max(1, base.length)));
            case SPLICE -> Mutations.splice(base, seeds.get(r.nextInt(seeds.size())), r);
            default -> Mutations.structural(kind, parse(base), r).toByteArray();
        };
    }

    private static OnnxMl.ModelProto parse(byte[] b) {
        try {
            return OnnxMl.ModelProto.parseFrom(b);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Set<Integer> documented() {
        Set<Integer> s = new java.util.HashSet<>();
        s.add(0);
        for (StampException.Kind k : StampException.Kind.values()) s.add(k.exitCode());
        return Set.copyOf(s);
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).collect(Collectors.toList())) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
