package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl.AttributeProto.AttributeType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The default ONNX domain's operator schemas, every version, as onnx defines them (resource
 * {@code onnx-op-schemas.tsv}, written by {@code compiler/src/main/scripts/onnx_op_schemas.py}): what ONNX Runtime
 * checks each node against when it loads a model.
 */
public final class OpSchemas {
    /** How a formal input or output may be given. */
    public enum Option { SINGLE, OPTIONAL, VARIADIC, HETEROGENEOUS_VARIADIC }

    /** A formal input or output: its type string (a type parameter such as {@code T}, or a type such as {@code tensor(int64)}). */
    public record Formal(String typeStr, Option option) {}

    /** An attribute the op defines. */
    public record Attribute(AttributeType type, boolean required) {}

    /** One version of an op's schema. */
    public record Schema(String op, int since, int minInputs, int maxInputs, int minOutputs, int maxOutputs, List<Formal> inputs,
                         List<Formal> outputs, Map<String, Set<String>> constraints, Map<String, Attribute> attributes) {
        /** The formal parameter of input (or output) {@code index}: the last one repeats for a variadic tail. */
        public static Formal formal(List<Formal> formals, int index) {
            return formals.isEmpty() ? null : formals.get(Math.min(index, formals.size() - 1));
        }
    }

    private static final Map<String, List<Schema>> BY_OP = load();

    /**
     * Ops ONNX Runtime registers in the default domain beside onnx's own: its original LayerNormalization and
     * SimplifiedLayerNormalization (from opset 1) and the experimental ops onnx removed (onnxruntime's
     * {@code onnx_deprecated_opset.h}). Where onnx has no schema for them at a model's opset, ORT's own applies, which
     * this table does not hold: such nodes are left to ORT.
     */
    public static final Set<String> ORT_DEFAULT_DOMAIN_EXTRAS = Set.of("LayerNormalization", "SimplifiedLayerNormalization",
            "Affine", "ParametricSoftplus", "ImageScaler", "Crop", "ThresholdedRelu", "DynamicSlice", "GivenTensorFill", "Scale",
            "GRUUnit", "MeanVarianceNormalization", "ScaledTanh");

    private OpSchemas() {}

    /** Whether the default domain defines {@code op} at any version. */
    public static boolean defines(String op) { return BY_OP.containsKey(op); }

    /** The schema of {@code op} in force at default-domain opset {@code opset} (its newest version up to it), if any. */
    public static Optional<Schema> at(String op, int opset) {
        Schema best = null;
        for (Schema s : BY_OP.getOrDefault(op, List.of())) if (s.since() <= opset && (best == null || s.since() > best.since())) best = s;
        return Optional.ofNullable(best);
    }

    private static Map<String, List<Schema>> load() {
        Map<String, List<Schema>> byOp = new HashMap<>();
        try (InputStream in = OpSchemas.class.getResourceAsStream("onnx-op-schemas.tsv")) {
            if (in == null) throw new IllegalStateException("resource onnx-op-schemas.tsv is missing from the compiler's jar");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                Schema s = parse(line.split("\t", -1));
                byOp.computeIfAbsent(s.op(), k -> new ArrayList<>()).add(s);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return byOp;
    }

    private static Schema parse(String[] f) {
        Map<String, Set<String>> constraints = new LinkedHashMap<>();
        for (String c : split(f[8], ";")) {
            int eq = c.indexOf('=');
            constraints.put(c.substring(0, eq), Set.of(c.substring(eq + 1).split("\\|")));
        }
        Map<String, Attribute> attributes = new LinkedHashMap<>();
        for (String a : split(f[9], ",")) {
            String[] p = a.split(":");
            attributes.put(p[0], new Attribute(AttributeType.valueOf(p[1]), p[2].equals("r")));
        }
        return new Schema(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]), Integer.parseInt(f[4]),
                Integer.parseInt(f[5]), formals(f[6]), formals(f[7]), constraints, attributes);
    }

    private static List<Formal> formals(String text) {
        List<Formal> out = new ArrayList<>();
        for (String p : split(text, ",(?=[^,]*~)")) {
            int tilde = p.lastIndexOf('~');
            Option o = switch (p.charAt(tilde + 1)) {
                case 's' -> Option.SINGLE;
                case 'o' -> Option.OPTIONAL;
                case 'v' -> Option.VARIADIC;
                default -> Option.HETEROGENEOUS_VARIADIC;
            };
            out.add(new Formal(p.substring(0, tilde), o));
        }
        return out;
    }

    private static List<String> split(String text, String regex) { return text.isEmpty() ? List.of() : List.of(text.split(regex)); }
}
