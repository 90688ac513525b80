package ai.stamp.tools.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The node table of the {@code bench} ort section ({@link OrtOverheadBench#nodeTable}) on all-MiniLM-L6-v2, the part of
 * that section that does not depend on timing: every count is checked against the model itself, and the derived
 * columns against the columns they are computed from.
 */
class NodeTableTest {
    private record Fn(int body, int uses) {}

    private record Parsed(String model, String layers, int graphNodes, int inlined, int inlinedConstant, String added,
                          Map<String, Fn> functions) {}

    private static final Pattern ROW = Pattern.compile("\\| (.+?) \\| (—|\\d+) \\| (\\d+) \\| (\\d+) \\((\\d+)\\) \\| (.+?) \\| (.+?) \\|");

    private static Parsed parse(String line) {
        Matcher m = ROW.matcher(line);
        assertTrue(m.matches(), line);
        Map<String, Fn> fns = new LinkedHashMap<>();
        if (!m.group(7).equals("—")) {
            for (String part : m.group(7).split("; ")) {
                Matcher f = Pattern.compile("(\\S+) (\\d+) × (\\d+)").matcher(part);
                assertTrue(f.matches(), part);
                fns.put(f.group(1), new Fn(Integer.parseInt(f.group(2)), Integer.parseInt(f.group(3))));
            }
        }
        return new Parsed(m.group(1), m.group(2), Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)),
                Integer.parseInt(m.group(5)), m.group(6), fns);
    }

    private static int constants(List<OnnxMl.NodeProto> nodes) {
        return (int) nodes.stream().filter(n -> n.getOpType().equals("Constant")).count();
    }

    @Test
    void countsMatchTheModelsAndPerLayerFiguresFollowFromTheCounts() {
        OnnxMl.ModelProto original = ModelFile.read(RealModels.miniLm()).proto();
        // as the ort section compiles them: float weights (the simulation form), where --inverse-at auto can share inverses
        StampConfig floatWeights = StampConfig.builder().weights(StampConfig.WeightQuant.NONE).build();
        StampResult base = StampCompiler.compile(original, floatWeights.toBuilder().mode(StampConfig.Mode.BASELINE).build());
        StampResult stamp = StampCompiler.compile(original, floatWeights);
        StampResult auto = StampCompiler.compile(original, floatWeights.toBuilder().inverseAt(StampConfig.InversePlacement.AUTO).build());
        List<StampResult> results = List.of(base, stamp, auto);
        List<String> labels = List.of("baseline", "STaMP", "STaMP --inverse-at auto");
        String md = OrtOverheadBench.nodeTable(original, results, labels);

        List<String> lines = md.lines().filter(l -> l.startsWith("|")).toList();
        assertEquals("| model | layers | graph nodes | after inlining (Constant) | added per layer (non-Constant) | inserted functions: body nodes × uses |",
                lines.get(0));
        assertEquals(2 + 1 + results.size(), lines.size(), md);

        assertEquals(0, original.getFunctionsCount(), "the original has no local functions");
        Parsed orig = parse(lines.get(2));
        assertEquals("original", orig.model());
        assertEquals(original.getGraph().getNodeCount(), orig.graphNodes());
        assertEquals(orig.graphNodes(), orig.inlined(), "nothing to inline in the original");
        assertEquals(constants(original.getGraph().getNodeList()), orig.inlinedConstant());
        assertEquals("—", orig.layers());
        assertTrue(orig.functions().isEmpty());

        Map<String, Double> addedPerLayer = new HashMap<>();
        for (int i = 0; i < results.size(); i++) {
            StampResult r = results.get(i);
            OnnxMl.ModelProto m = r.model();
            Parsed p = parse(lines.get(3 + i));
            assertEquals(labels.get(i), p.model());
            int layers = r.report().rewritten().size();
            assertEquals(36, layers, "MiniLM's 36 linear layers");
            assertEquals(Integer.toString(layers), p.layers());
            assertEquals(m.getGraph().getNodeCount(), p.graphNodes());

            // the functions: the uses are the graph's call nodes, the body the function's own nodes (no nested calls)
            Map<String, OnnxMl.FunctionProto> byName = new HashMap<>();
            for (OnnxMl.FunctionProto f : m.getFunctionsList()) byName.put(f.getName(), f);
            assertEquals(byName.keySet(), p.functions().keySet(), "every function the model carries is listed, once");
            int inlined = p.graphNodes(), inlinedConst = constants(m.getGraph().getNodeList());
            for (Map.Entry<String, Fn> e : p.functions().entrySet()) {
                OnnxMl.FunctionProto f = byName.get(e.getKey());
                assertNotNull(f, e.getKey());
                for (OnnxMl.NodeProto n : f.getNodeList()) assertFalse(byName.containsKey(n.getOpType()), "nested call in " + f.getName());
                assertEquals(f.getNodeCount(), e.getValue().body(), e.getKey() + " body");
                long calls = m.getGraph().getNodeList().stream()
                        .filter(n -> n.getOpType().equals(f.getName()) && n.getDomain().equals(f.getDomain())).count();
                assertEquals(calls, e.getValue().uses(), e.getKey() + " uses");
                inlined += (e.getValue().body() - 1) * e.getValue().uses();
                inlinedConst += constants(f.getNodeList()) * e.getValue().uses();
            }
            assertEquals(inlined, p.inlined(), "after inlining = graph nodes - calls + body × uses");
            assertEquals(inlinedConst, p.inlinedConstant(), "Constant nodes after inlining");

            double added = (p.inlined() - orig.inlined()) / (double) layers;
            double addedNonConst = ((p.inlined() - p.inlinedConstant()) - (orig.inlined() - orig.inlinedConstant())) / (double) layers;
            assertEquals(String.format(Locale.ROOT, "%.1f (%.1f)", added, addedNonConst), p.added(), "per layer, from the counts shown");
            addedPerLayer.put(p.model(), added);
        }
        // what the rows say about the methods: the baseline inserts no sequence transform; STaMP's transform costs nodes;
        // with the inverse on the input side, layers that read one activation (Q, K, V) share one inverse: 4 per block, not 6
        Parsed b = parse(lines.get(3)), s = parse(lines.get(4)), a = parse(lines.get(5));
        assertTrue(b.functions().keySet().stream().noneMatch(k -> k.startsWith("Haar")), b.functions().toString());
        assertTrue(addedPerLayer.get("STaMP") > addedPerLayer.get("baseline"));
        assertTrue(addedPerLayer.get("STaMP --inverse-at auto") < addedPerLayer.get("STaMP"));
        assertEquals(36, s.functions().get("HaarSequenceInverse_l3_s1").uses());
        assertEquals(24, a.functions().get("HaarSequenceInverse_l3_s1").uses());
    }
}
