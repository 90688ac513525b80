package ai.stamp.compiler.passes.cleanup;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.GraphWalker;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.Pass;
import java.util.ArrayList;
import java.util.List;

/**
 * The last pass: removes, in every graph, the initializers nothing reads any more: no node of that graph and none of
 * its nested bodies reads the name (a body's reads count as its If/Loop/Scan node's; a body that defines the name
 * itself still counts, which only ever keeps one too many), and it is not a graph output. An initializer also listed
 * as a graph input stays: it is a default a caller may replace, and dropping it would make the input required.
 */
public final class UnusedInitializersPass implements Pass<UnusedInitializersPass.Plan> {
    public static final String NAME = "unused-initializers";

    /** One initializer that goes, from the graph that holds it, and how many bytes its data took. */
    public record Removal(Graph graph, String name, long bytes) {}

    /** Every initializer removed; {@link #bytes()} freed in all. */
    public record Plan(List<Removal> removals) {
        public static final Plan EMPTY = new Plan(List.of());

        public long bytes() { return removals.stream().mapToLong(Removal::bytes).sum(); }
    }

    @Override public String name() { return NAME; }

    @Override
    public Plan plan(OnnxMl.ModelProto model) {
        List<Removal> out = new ArrayList<>();
        for (Graph g : GraphWalker.walk(new Graph(model.getGraph())).graphs()) {
            for (OnnxMl.TensorProto t : g.proto().getInitializerList()) {
                String name = t.getName();
                if (!g.consumers(name).isEmpty() || g.isGraphOutput(name) || g.isGraphInput(name)) continue;
                out.add(new Removal(g, name, bytes(t)));
            }
        }
        return new Plan(List.copyOf(out));
    }

    /** The bytes of a tensor's values: its external length, else its serialized size. */
    static long bytes(OnnxMl.TensorProto t) {
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
            for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
                if (e.getKey().equals("length")) {
                    try { return Long.parseLong(e.getValue()); } catch (NumberFormatException ignored) { return 0; }
                }
            }
            return 0;
        }
        return t.getSerializedSize();
    }

    @Override
    public void rewrite(Plan plan, ModelEditor editor) {
        for (Removal r : plan.removals()) {
            GraphEditor edit = editor.graph(r.graph(), NAME);
            edit.removeInitializer(r.name());
        }
    }
}
