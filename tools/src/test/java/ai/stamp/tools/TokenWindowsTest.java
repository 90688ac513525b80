package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.stamp.compiler.StampException;
import ai.stamp.testmodels.RealModels;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Text windows with the real all-MiniLM-L6-v2 tokenizer. */
class TokenWindowsTest {
    static TokenWindows windows;

    @BeforeAll
    static void load() {
        windows = TokenWindows.load(RealModels.miniLmTokenizer());
    }

    @AfterAll
    static void close() {
        windows.close();
    }

    @Test
    void specialTokensComeFromTheTokenizer() throws Exception {
        try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(RealModels.miniLmTokenizer(), Map.of("padding", "false"))) {
            String[] tokens = t.encode("validation", true, false).getTokens();
            long[] ids = t.encode("validation", true, false).getIds();
            assertEquals("[CLS]", tokens[0]);
            assertEquals("[SEP]", tokens[tokens.length - 1]);
            assertArrayEquals(new long[] {ids[0]}, windows.prefix());
            assertArrayEquals(new long[] {ids[ids.length - 1]}, windows.suffix());
        }
    }

    @Test
    void windowsAreWrappedConsecutiveAndExactlySeqLenLong() {
        long cls = windows.prefix()[0];
        long sep = windows.suffix()[0];
        String text = DefaultText.get();
        long[] all = windows.encode(text);
        List<long[]> ws = windows.windows(text, 256, 4);
        assertEquals(4, ws.size());
        for (int w = 0; w < ws.size(); w++) {
            long[] ids = ws.get(w);
            assertEquals(256, ids.length);
            assertEquals(cls, ids[0]);
            assertEquals(sep, ids[255]);
            // the body is the next 254 tokens of the whole text, without any special token inside
            assertArrayEquals(Arrays.copyOfRange(all, w * 254, (w + 1) * 254), Arrays.copyOfRange(ids, 1, 255));
        }
    }

    @Test
    void builtInTextGivesAtLeastFourWindowsOf256() {
        int n = windows.windowCount(DefaultText.get(), 256);
        assertTrue(n >= 4, "built-in text gives only " + n + " windows of 254 tokens");
        // the tokenizer's own truncation (128 in tokenizer.json) must be off
        assertTrue(windows.encode(DefaultText.get()).length > 1016);
    }

    @Test
    void tooShortTextIsAnOptionError() {
        StampException e = assertThrows(StampException.class, () -> windows.windows("A short sentence.", 256, 1));
        assertEquals(StampException.Kind.BAD_OPTION, e.kind());
        assertTrue(e.getMessage().contains("longer --text"), e.getMessage());
    }
}
