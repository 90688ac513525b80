package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.RealModels;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoders exported differently from stories260K, made from it by renaming or removing graph inputs and outputs, so
 * the computation is the same and the perplexity must be too: the feeds come from the declared interface, not names.
 */
class PerplexityModelVariantsTest {
    @TempDir Path dir;
    private OnnxMl.ModelProto original;
    private double prefill;

    @BeforeEach
    void load() throws Exception {
        original = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(RealModels.stories260K()));
        Files.copy(RealModels.stories260KTokenizer(), dir.resolve("tokenizer.json"));
        prefill = PerplexityRuns.perplexity(score(RealModels.stories260K()), 0);
    }

    private JsonObject score(Path model, String... extra) throws Exception {
        String[] args = new String[extra.length + 3];
        args[0] = model.toString();
        args[1] = "--text";
        args[2] = PerplexityRuns.story().toString();
        System.arraycopy(extra, 0, args, 3, extra.length);
        return PerplexityRuns.run(dir, args);
    }

    private Path write(String name, OnnxMl.ModelProto m) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, m.toByteArray());
        return p;
    }

    @Test
    void withoutKvCacheItScoresTheSameAndRefusesChunkedDecoding() throws Exception {
        OnnxMl.ModelProto.Builder b = original.toBuilder();
        removeCache(b.getGraphBuilder());
        Path noCache = write("nocache.onnx", b.build());
        assertEquals(prefill, PerplexityRuns.perplexity(score(noCache), 0), 1e-6 * prefill);
        CliTest.cli("perplexity", noCache.toString(), "--text", PerplexityRuns.story().toString(), "--chunk", "4")
                .failsWith(6, "--chunk 4 needs a KV cache, but nocache.onnx has no past key/value inputs");
    }

    @Test
    void aFixedInputLengthLimitsTheWindowAndShortWindowsArePadded() throws Exception {
        // input_ids, attention_mask and position_ids fixed at [1, 64], as a fixed-shape export declares them
        OnnxMl.ModelProto.Builder b = original.toBuilder();
        removeCache(b.getGraphBuilder());
        for (OnnxMl.ValueInfoProto.Builder v : b.getGraphBuilder().getInputBuilderList()) {
            OnnxMl.TensorShapeProto.Builder shape = v.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
            shape.getDimBuilder(0).clearDimParam().setDimValue(1);
            shape.getDimBuilder(1).clearDimParam().setDimValue(64);
        }
        Path fixed = write("fixed.onnx", b.build());
        JsonObject r = score(fixed);
        assertEquals(64, r.getAsJsonObject("settings").get("window").getAsInt());
        assertEquals(6, PerplexityRuns.model(r, 0).get("windows").getAsInt(), "324 tokens = 5 x 63 + 9: the last window is padded");
        double dynamic = PerplexityRuns.perplexity(score(RealModels.stories260K(), "--window", "64"), 0);
        assertEquals(dynamic, PerplexityRuns.perplexity(r, 0), 1e-6 * dynamic);
        CliTest.cli("perplexity", fixed.toString(), "--text", PerplexityRuns.story().toString(), "--window", "100")
                .failsWith(2, "--window 100 exceeds the 64-token context of fixed.onnx (input_ids declares a fixed sequence length)");
    }

    /** The past inputs become empty [1, 4, 0, 8] initializers and the presents are no longer outputs. */
    private static void removeCache(OnnxMl.GraphProto.Builder g) {
        for (int i = g.getInputCount() - 1; i >= 0; i--) {
            String n = g.getInput(i).getName();
            if (!n.startsWith("past_key_values.")) continue;
            g.removeInput(i);
            g.addInitializer(OnnxMl.TensorProto.newBuilder().setName(n).setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                    .addAllDims(java.util.List.of(1L, 4L, 0L, 8L)));
        }
        for (int i = g.getOutputCount() - 1; i >= 0; i--) if (g.getOutput(i).getName().startsWith("present.")) g.removeOutput(i);
    }

    @Test
    void otherCacheNamesAndAMergedDecodersUseCacheBranchInput() throws Exception {
        // past.N.key (older exporters), presents named unlike the pasts (paired by order), an extra bool use_cache_branch
        OnnxMl.ModelProto.Builder b = original.toBuilder();
        OnnxMl.GraphProto.Builder g = b.getGraphBuilder();
        for (OnnxMl.ValueInfoProto.Builder v : g.getInputBuilderList()) rename(g, v, v.getName().replace("past_key_values.", "past."));
        for (OnnxMl.ValueInfoProto.Builder v : g.getOutputBuilderList()) rename(g, v, v.getName().replace("present.", "kv_out_"));
        g.addInput(OnnxMl.ValueInfoProto.newBuilder().setName("use_cache_branch").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.BOOL_VALUE)
                        .setShape(OnnxMl.TensorShapeProto.newBuilder().addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1))))));
        Path renamed = write("renamed.onnx", b.build());
        double decoded = PerplexityRuns.perplexity(score(renamed, "--chunk", "3"), 0);
        assertEquals(prefill, decoded, 1e-5 * prefill);
        assertEquals(prefill, PerplexityRuns.perplexity(score(renamed), 0), 1e-9 * prefill);
    }

    @Test
    void float16CacheAndLogitsAtTheGraphBoundary() throws Exception {
        // Casts turn every past input, present output and the logits into float16 tensors, as fp16 exports have them
        OnnxMl.ModelProto.Builder b = original.toBuilder();
        OnnxMl.GraphProto.Builder g = b.getGraphBuilder();
        java.util.List<OnnxMl.NodeProto> inputCasts = new java.util.ArrayList<>();
        for (OnnxMl.ValueInfoProto.Builder v : g.getInputBuilderList()) {
            if (!v.getName().startsWith("past_key_values.")) continue;
            String n = v.getName();
            renameUses(g, n, n + "_f32");
            v.getTypeBuilder().getTensorTypeBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT16_VALUE);
            inputCasts.add(cast(n, n + "_f32", OnnxMl.TensorProto.DataType.FLOAT_VALUE));
        }
        for (OnnxMl.ValueInfoProto.Builder v : g.getOutputBuilderList()) {
            String n = v.getName();
            for (OnnxMl.NodeProto.Builder node : g.getNodeBuilderList()) {
                for (int i = 0; i < node.getOutputCount(); i++) if (node.getOutput(i).equals(n)) node.setOutput(i, n + "_f32");
            }
            renameUses(g, n, n + "_f32");
            v.getTypeBuilder().getTensorTypeBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT16_VALUE);
            g.addNode(cast(n + "_f32", n, OnnxMl.TensorProto.DataType.FLOAT16_VALUE));
        }
        for (int i = 0; i < inputCasts.size(); i++) g.addNode(i, inputCasts.get(i));
        Path fp16Io = write("fp16io.onnx", b.build());
        double p = PerplexityRuns.perplexity(score(fp16Io), 0);
        double decoded = PerplexityRuns.perplexity(score(fp16Io, "--chunk", "1"), 0);
        // measured: float16 logits move the perplexity by 1.2e-4 relative (2.81648 vs 2.81683); decoding through the
        // float16 cache, which rounds every key and value the later tokens attend to, by 2.6e-4 more (2.81722)
        assertEquals(prefill, p, 5e-4 * prefill);
        assertEquals(p, decoded, 1e-3 * p);
    }

    private static OnnxMl.NodeProto cast(String from, String to, int type) {
        return OnnxMl.NodeProto.newBuilder().setOpType("Cast").addInput(from).addOutput(to).setName("cast_" + to)
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("to").setType(OnnxMl.AttributeProto.AttributeType.INT).setI(type)).build();
    }

    /** Points every node input that reads {@code from} at {@code to}. */
    private static void renameUses(OnnxMl.GraphProto.Builder g, String from, String to) {
        for (OnnxMl.NodeProto.Builder n : g.getNodeBuilderList()) {
            for (int i = 0; i < n.getInputCount(); i++) if (n.getInput(i).equals(from)) n.setInput(i, to);
        }
    }

    /** Renames a graph input or output and every node input or output that refers to it. */
    private static void rename(OnnxMl.GraphProto.Builder g, OnnxMl.ValueInfoProto.Builder v, String to) {
        String from = v.getName();
        if (from.equals(to)) return;
        v.setName(to);
        for (OnnxMl.NodeProto.Builder n : g.getNodeBuilderList()) {
            for (int i = 0; i < n.getInputCount(); i++) if (n.getInput(i).equals(from)) n.setInput(i, to);
            for (int i = 0; i < n.getOutputCount(); i++) if (n.getOutput(i).equals(from)) n.setOutput(i, to);
        }
    }
}
