package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.testmodels.RealModels;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where BOS comes from: stories260K's tokenizer.json edited so its template adds none, then so it defines none. */
class PerplexityBosTest {
    @TempDir Path dir;
    private JsonObject tokenizer;

    @BeforeEach
    void load() throws Exception {
        tokenizer = JsonParser.parseString(Files.readString(RealModels.stories260KTokenizer())).getAsJsonObject();
        tokenizer.remove("post_processor"); // many causal-LM tokenizers leave BOS to the model code
    }

    private JsonObject score(String tokenizerName) throws Exception {
        Path tok = Files.writeString(dir.resolve(tokenizerName), tokenizer.toString());
        return PerplexityRuns.run(dir, RealModels.stories260K().toString(), "--text", PerplexityRuns.story().toString(),
                "--tokenizer", tok.toString());
    }

    @Test
    void aSpecialAddedTokenNamedLikeBosIsUsedWhenTheTemplateAddsNone() throws Exception {
        JsonObject viaAddedToken = score("added.json");
        JsonObject viaTemplate = PerplexityRuns.run(dir, RealModels.stories260K().toString(), "--text", PerplexityRuns.story().toString());
        assertEquals(PerplexityRuns.model(viaTemplate, 0).get("nllSum").getAsDouble(), PerplexityRuns.model(viaAddedToken, 0).get("nllSum").getAsDouble());
        assertEquals("BOS <s> (id 1, a special added token)", viaAddedToken.getAsJsonObject("settings").get("bos").getAsString());
    }

    @Test
    void withoutBosTheFirstTokenOfEachWindowIsContextOnly() throws Exception {
        double withBos = PerplexityRuns.perplexity(score("added.json"), 0);
        for (var e : tokenizer.getAsJsonArray("added_tokens")) e.getAsJsonObject().addProperty("special", false);
        JsonObject r = score("nobos.json");
        assertEquals(0, r.getAsJsonObject("settings").getAsJsonArray("bosIds").size());
        assertEquals(323, PerplexityRuns.model(r, 0).get("tokensScored").getAsLong(), "324 tokens, the first unscored");
        assertTrue(r.get("stdout").getAsString().contains("no BOS (the tokenizer defines none; the first token of each window is context only)"),
                r.get("stdout").getAsString());
        // stories260K was trained with BOS first: without it the text is harder to predict
        assertTrue(PerplexityRuns.perplexity(r, 0) > withBos, PerplexityRuns.perplexity(r, 0) + " vs " + withBos);
    }
}
