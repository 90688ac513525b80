package ai.stamp.compiler.passes.embedding;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.Graph;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which graph's initializer a tensor name means where it is read: the reading graph's own, else the nearest
 * enclosing graph's, unless a graph in between produces or declares (as an input) that name and so shadows it.
 */
final class TableScope {
    private final Map<OnnxMl.GraphProto, Set<String>> initializers = new IdentityHashMap<>();
    private final Map<OnnxMl.GraphProto, Set<String>> inputs = new IdentityHashMap<>();

    /** The graph whose initializer {@code tensor} names when read in {@code graph}, or null when it names no initializer. */
    Graph owner(Graph graph, String tensor) {
        for (Graph g = graph; g != null; g = g.parent().orElse(null)) {
            if (initializers(g).contains(tensor)) return g;
            if (g.producer(tensor).isPresent() || inputs(g).contains(tensor)) return null;
        }
        return null;
    }

    /** The initializer {@code owner} holds under {@code tensor} (owner from {@link #owner}). */
    static OnnxMl.TensorProto initializer(Graph owner, String tensor) {
        return owner.proto().getInitializerList().stream().filter(t -> t.getName().equals(tensor)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("graph " + owner.path() + " has no initializer '" + tensor + "'"));
    }

    /** Whether {@code graph} lists {@code tensor} among its inputs. */
    boolean isInput(Graph graph, String tensor) { return inputs(graph).contains(tensor); }

    private Set<String> initializers(Graph g) {
        return initializers.computeIfAbsent(g.proto(), p -> p.getInitializerList().stream().map(OnnxMl.TensorProto::getName).collect(Collectors.toSet()));
    }

    private Set<String> inputs(Graph g) {
        return inputs.computeIfAbsent(g.proto(), p -> p.getInputList().stream().map(OnnxMl.ValueInfoProto::getName).collect(Collectors.toSet()));
    }
}
