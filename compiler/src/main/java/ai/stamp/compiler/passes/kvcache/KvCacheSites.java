package ai.stamp.compiler.passes.kvcache;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.ir.Graph;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Where a decoder writes its KV cache: each tensor that becomes a main-graph output named like {@code present.N.key} /
 * {@code present.N.value} (Optimum's names; any output whose name contains "present"), in the graph whose node
 * produces it — the main graph, or the branches of the If that a merged decoder computes them in (branch output i of
 * an If whose output i is a cache output), looking through Identity nodes. Attention reads that same tensor, so
 * quantizing it where it is produced quantizes both what is written and what is read.
 */
public final class KvCacheSites {
    private KvCacheSites() {}

    /** One cache tensor and the node that produces it. */
    public record Site(Graph graph, NodeProto producer, String tensor) {}

    /** A cache output that cannot be quantized here, and why. */
    public record Skipped(String graph, String tensor, String reason) {}

    record Found(List<Site> sites, List<Skipped> skipped) {}

    static Found of(Graph main) {
        List<Site> sites = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        for (OnnxMl.ValueInfoProto o : main.proto().getOutputList()) {
            outputs.add(o.getName().toLowerCase(Locale.ROOT).contains("present") ? o.getName() : null);
        }
        collect(main, outputs, sites, skipped);
        return new Found(List.copyOf(sites), List.copyOf(skipped));
    }

    /** {@code cacheOutputs}: per output of {@code g}, its name when it is a cache output, else null. */
    private static void collect(Graph g, List<String> cacheOutputs, List<Site> sites, List<Skipped> skipped) {
        for (int i = 0; i < cacheOutputs.size(); i++) {
            String t = cacheOutputs.get(i);
            if (t == null) continue;
            Optional<NodeProto> producer = g.producer(t);
            // exporters often write present through an Identity of the tensor attention reads: quantize that tensor
            while (producer.isPresent() && producer.get().getOpType().equals("Identity") && producer.get().getDomain().isEmpty()) {
                t = producer.get().getInput(0);
                producer = g.producer(t);
            }
            if (producer.isEmpty()) {
                skipped.add(new Skipped(g.path(), t, "not computed in this graph (an input or initializer passed through)"));
            } else if (!producer.get().getOpType().equals("If")) {
                sites.add(new Site(g, producer.get(), t));
            }
        }
        // a merged decoder: the If that makes cache outputs computes them in each branch
        for (NodeProto n : g.nodes()) {
            if (!n.getOpType().equals("If") || !n.getDomain().isEmpty()) continue;
            List<Integer> cacheIndexes = new ArrayList<>();
            for (int k = 0; k < n.getOutputCount(); k++) if (cacheOutputs.contains(n.getOutput(k))) cacheIndexes.add(k);
            if (cacheIndexes.isEmpty()) continue;
            for (Graph body : g.subgraphs(n)) {
                List<String> bodyOutputs = new ArrayList<>();
                for (int k = 0; k < body.proto().getOutputCount(); k++) {
                    bodyOutputs.add(cacheIndexes.contains(k) ? body.proto().getOutput(k).getName() : null);
                }
                collect(body, bodyOutputs, sites, skipped);
            }
        }
    }
}
