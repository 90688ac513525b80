package ai.stamp.tools;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.stamp.compiler.StampException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Cuts a text into model inputs with the model's own HuggingFace {@code tokenizer.json} (DJL, offline): the whole
 * text is encoded without special tokens, then cut into consecutive windows of {@code seqLen − specials} tokens,
 * each wrapped with the special tokens the tokenizer itself adds to a single sequence (for BERT: [CLS] … [SEP]).
 * The special-token ids are found by asking the tokenizer, never hard-coded.
 */
public final class TokenWindows implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final long[] prefix;
    private final long[] suffix;

    private TokenWindows(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        long[] plain = tokenizer.encode("hello", false, false).getIds();
        long[] special = tokenizer.encode("hello", true, false).getIds();
        int at = indexOf(special, plain);
        if (plain.length == 0 || at < 0) {
            this.prefix = new long[0];
            this.suffix = new long[0];
        } else {
            this.prefix = Arrays.copyOfRange(special, 0, at);
            this.suffix = Arrays.copyOfRange(special, at + plain.length, special.length);
        }
    }

    /** Loads a tokenizer.json with truncation and padding switched off. */
    public static TokenWindows load(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "tokenizer " + tokenizerJson + " does not exist");
        }
        Djl.configure();
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(tokenizerJson,
                    Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false"));
            return new TokenWindows(t);
        } catch (IOException | RuntimeException e) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "cannot load tokenizer " + tokenizerJson + ": " + firstLine(e), e);
        }
    }

    /** The tokenizer for {@code model}: {@code tokenizer.json} or {@code <stem>-tokenizer.json} beside it, or null. */
    public static Path findBeside(Path model) {
        Path dir = model.toAbsolutePath().getParent();
        if (dir == null) dir = Paths.get(".");
        String name = model.getFileName().toString();
        String stem = name.endsWith(".onnx") ? name.substring(0, name.length() - 5) : name;
        for (Path p : List.of(dir.resolve(stem + "-tokenizer.json"), dir.resolve("tokenizer.json"))) {
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    /** Ids the tokenizer puts before a single sequence (BERT: [CLS]). */
    public long[] prefix() { return prefix.clone(); }

    /** Ids the tokenizer puts after a single sequence (BERT: [SEP]). */
    public long[] suffix() { return suffix.clone(); }

    /** The whole text as ids, without special tokens. */
    public long[] encode(String text) {
        Encoding e = tokenizer.encode(text, false, false);
        return e.getIds();
    }

    /** How many windows of {@code seqLen} tokens (specials included) {@code text} gives. */
    public int windowCount(String text, int seqLen) {
        int body = bodyLength(seqLen);
        return encode(text).length / body;
    }

    /**
     * The first {@code count} consecutive windows of {@code text}, each exactly {@code seqLen} ids long and wrapped
     * with the tokenizer's special tokens. Throws a BAD_OPTION StampException when the text is too short.
     */
    public List<long[]> windows(String text, int seqLen, int count) {
        int body = bodyLength(seqLen);
        long[] ids = encode(text);
        int available = ids.length / body;
        if (available < count) {
            throw new StampException(StampException.Kind.BAD_OPTION, "the text gives " + ids.length + " tokens, " + available
                    + " window(s) of " + body + " + " + (prefix.length + suffix.length) + " special tokens, but " + count
                    + " samples were asked for: give a longer --text, a smaller --seq-len or fewer --samples");
        }
        List<long[]> out = new ArrayList<>(count);
        for (int w = 0; w < count; w++) {
            long[] window = new long[seqLen];
            System.arraycopy(prefix, 0, window, 0, prefix.length);
            System.arraycopy(ids, w * body, window, prefix.length, body);
            System.arraycopy(suffix, 0, window, prefix.length + body, suffix.length);
            out.add(window);
        }
        return out;
    }

    private int bodyLength(int seqLen) {
        int body = seqLen - prefix.length - suffix.length;
        if (body < 1) {
            throw new StampException(StampException.Kind.BAD_OPTION, "--seq-len " + seqLen + " leaves no room for text beside "
                    + (prefix.length + suffix.length) + " special tokens");
        }
        return body;
    }

    @Override
    public void close() { tokenizer.close(); }

    private static int indexOf(long[] haystack, long[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    static String firstLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
