package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --quantize-embeddings} on all-MiniLM-L6-v2, with every linear layer excluded so the embedding tables are the
 * only change: the three tables (word 30522×384, position 512×384, token type 2×384) become int8 per row, the file
 * shrinks by 3/4 of their bytes (less the row scales), and the pooled sentence embedding on real text stays within
 * cosine 0.999 of the float model's. Sized for 2 cores (2 windows of 128 tokens).
 */
class EmbeddingQuantizationEndToEndTest {
    @TempDir Path dir;

    @Test
    void miniLmEmbeddingTablesAloneQuantizedToInt8() throws Exception {
        Path in = RealModels.miniLm();
        Path out = dir.resolve("minilm.embeddings.onnx");
        Path report = dir.resolve("minilm.embeddings.json");
        CliTest.Run r = CliTest.cli(in.toString(), out.toString(), "--quantize-embeddings", "--exclude", "MatMul", "--report", report.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("0 linear layer(s) rewritten"), r.out());
        assertTrue(r.out().contains("; 3 embedding table(s) quantized to int8"), r.out());

        JsonObject json = JsonParser.parseString(Files.readString(report)).getAsJsonObject();
        JsonArray embeddings = json.getAsJsonArray("embeddings");
        assertEquals(3, embeddings.size());
        assertEquals(0, json.getAsJsonArray("skippedEmbeddings").size());
        assertTrue(json.get("config").getAsString().contains("quantize-embeddings"));
        List<String> shapes = new ArrayList<>();
        Set<String> tables = new java.util.LinkedHashSet<>();
        for (var e : embeddings) {
            JsonObject o = e.getAsJsonObject();
            shapes.add(o.getAsJsonArray("shape").toString());
            tables.add(o.get("table").getAsString());
            assertFalse(o.get("floatTableKept").getAsBoolean(), o.toString());
            assertTrue(o.get("detail").getAsString().startsWith("int8 per row"), o.toString());
        }
        assertEquals(List.of("[30522,384]", "[2,384]", "[512,384]"), shapes, "word, token type, position, in graph order");

        LoadedModel original = ModelFile.read(in);
        LoadedModel quantized = ModelFile.read(out);
        Map<String, OnnxMl.TensorProto> before = original.proto().getGraph().getInitializerList().stream()
                .collect(Collectors.toMap(OnnxMl.TensorProto::getName, t -> t));
        Set<String> after = quantized.proto().getGraph().getInitializerList().stream().map(OnnxMl.TensorProto::getName).collect(Collectors.toSet());
        long tableBytes = 0, rows = 0;
        for (String t : tables) {
            assertFalse(after.contains(t), "float table " + t + " dropped");
            OnnxMl.TensorProto p = before.get(t);
            tableBytes += p.getDims(0) * p.getDims(1) * 4;
            rows += p.getDims(0);
        }
        long sizeBefore = Files.size(in), sizeAfter = Files.size(out);
        long saved = sizeBefore - sizeAfter, expected = tableBytes * 3 / 4 - rows * 4;
        System.out.printf("MiniLM --quantize-embeddings alone: %d -> %d bytes (saved %d; tables %d bytes, expected saving %d)%n",
                sizeBefore, sizeAfter, saved, tableBytes, expected);
        assertTrue(Math.abs(saved - expected) < tableBytes / 200, "saved " + saved + " bytes, expected about " + expected);

        List<ModelInputs.Sample> samples = ModelInputs.forModel(original, null, RealModels.miniLmTokenizer(), 128, 2, Map.of());
        Validator.OutputMetric o = Validator.validate(original, quantized, samples).output("last_hidden_state");
        System.out.printf("MiniLM --quantize-embeddings alone: pooled cosine %.6f, SQNR %.2f dB%n", o.cosine(), o.sqnrDb());
        assertEquals("pooled", o.cosineKind());
        assertTrue(o.cosine() > 0.999, "pooled cosine " + o.cosine());

        CliTest.Run inspect = CliTest.cli("inspect", in.toString(), "--quantize-embeddings");
        assertEquals(0, inspect.code(), inspect.err());
        assertEquals(3, inspect.out().lines().filter(l -> l.startsWith("INT8     Gather")).count(), inspect.out());
        assertTrue(inspect.out().contains("36 linear layer(s) rewritten"), inspect.out());
    }
}
