package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/** Runs {@code stamp-onnx perplexity} in-process with {@code --report} and reads the figures back from the JSON. */
final class PerplexityRuns {
    /** A self-written TinyStories-style text (324 stories260K tokens). */
    static final String STORY = "/ai/stamp/tools/perplexity/story.txt";

    private PerplexityRuns() {}

    static Path story() {
        try {
            return Paths.get(PerplexityRuns.class.getResource(STORY).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The command's report after a successful run (asserts exit 0 and a quiet stderr). */
    static JsonObject run(Path dir, String... args) throws Exception {
        Path report = Files.createTempFile(dir, "ppl", ".json");
        List<String> all = new ArrayList<>(List.of("perplexity"));
        all.addAll(List.of(args));
        all.addAll(List.of("--report", report.toString()));
        CliTest.Run r = CliTest.cli(all.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "short runs print no progress");
        JsonObject json = JsonParser.parseString(Files.readString(report)).getAsJsonObject();
        json.addProperty("stdout", r.out());
        return json;
    }

    /** The i-th model's figures of a report. */
    static JsonObject model(JsonObject report, int i) { return report.getAsJsonArray("models").get(i).getAsJsonObject(); }

    static double perplexity(JsonObject report, int i) { return model(report, i).get("perplexity").getAsDouble(); }
}
