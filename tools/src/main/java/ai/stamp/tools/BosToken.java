package ai.stamp.tools;

import ai.stamp.compiler.StampException;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokens a causal LM's tokenizer puts before a text (its BOS), which perplexity puts at the start of every window
 * and never scores. First what the tokenizer itself prepends to a single sequence (its post-processor template, asked
 * through {@link TokenWindows#prefix()}); else, since many causal-LM tokenizers add BOS in the model code and not in
 * the template, a special added token with one of the usual BOS names; else none.
 */
public record BosToken(long[] ids, String description) {
    /** BOS names of common tokenizers (Llama 1/2, Mistral: {@code <s>}; Llama 3; Gemma; GPT-NeoX style). */
    static final List<String> KNOWN = List.of("<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>", "[BOS]");

    public static BosToken of(TokenWindows tokenizer, Path tokenizerJson) {
        Map<Long, String> added = addedTokens(tokenizerJson);
        long[] prefix = tokenizer.prefix();
        if (prefix.length > 0) {
            return new BosToken(prefix, "BOS " + names(prefix, added) + ", from the tokenizer's post-processor");
        }
        for (String name : KNOWN) {
            for (Map.Entry<Long, String> e : added.entrySet()) {
                if (e.getValue().equals(name)) {
                    return new BosToken(new long[] {e.getKey()}, "BOS " + name + " (id " + e.getKey() + ", a special added token)");
                }
            }
        }
        return new BosToken(new long[0], "no BOS (the tokenizer defines none; the first token of each window is context only)");
    }

    public boolean present() { return ids.length > 0; }

    private static String names(long[] ids, Map<Long, String> added) {
        StringBuilder sb = new StringBuilder();
        for (long id : ids) {
            if (sb.length() > 0) sb.append(' ');
            sb.append(added.getOrDefault(id, "?")).append(" (id ").append(id).append(')');
        }
        return sb.toString();
    }

    /** The special added tokens of a tokenizer.json, id → content (the DJL tokenizer does not expose them). */
    private static Map<Long, String> addedTokens(Path tokenizerJson) {
        Map<Long, String> out = new LinkedHashMap<>();
        try (Reader r = Files.newBufferedReader(tokenizerJson, StandardCharsets.UTF_8)) {
            JsonElement root = JsonParser.parseReader(r);
            if (!root.isJsonObject() || !root.getAsJsonObject().has("added_tokens")) return out;
            for (JsonElement e : root.getAsJsonObject().getAsJsonArray("added_tokens")) {
                JsonObject t = e.getAsJsonObject();
                boolean special = !t.has("special") || t.get("special").getAsBoolean();
                if (special && t.has("id") && t.has("content")) out.put(t.get("id").getAsLong(), t.get("content").getAsString());
            }
            return out;
        } catch (IOException | RuntimeException e) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "cannot read the added tokens of " + tokenizerJson + ": "
                    + TokenWindows.firstLine(e), e);
        }
    }
}
