package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.stamp.compiler.StampException;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScoringWindowsTest {
    private static ScoringWindows.Window w(int start, int end, int first) { return new ScoringWindows.Window(start, end, first); }

    @Test
    void withBosTheDefaultStrideScoresEveryTokenOnceInDisjointWindows() {
        // window 5 = BOS + 4 text tokens; 10 tokens -> [0,4) [4,8) [8,10), every token scored (the first after BOS)
        assertEquals(4, ScoringWindows.maxStride(5, 1));
        assertEquals(List.of(w(0, 4, 0), w(4, 8, 4), w(8, 10, 8)), ScoringWindows.plan(10, 5, 4, 1));
    }

    @Test
    void withoutBosEachWindowKeepsOneTokenOfContextSoOnlyTheFirstTokenGoesUnscored() {
        // window 5 = 5 text tokens, first is context: [0,5) scores 1..4, [4,9) scores 5..8, [8,10) scores 9
        assertEquals(4, ScoringWindows.maxStride(5, 0));
        List<ScoringWindows.Window> plan = ScoringWindows.plan(10, 5, 4, 0);
        assertEquals(List.of(w(0, 5, 1), w(4, 9, 5), w(8, 10, 9)), plan);
        assertEquals(9, ScoringWindows.scored(plan));
    }

    @Test
    void aSmallerStrideScoresOnlyTheTokensEarlierWindowsDidNot() {
        // Hugging Face's guide: window 4 text tokens, stride 2 -> each later window scores its last 2 tokens
        assertEquals(List.of(w(0, 4, 0), w(2, 6, 4), w(4, 8, 6), w(6, 9, 8)), ScoringWindows.plan(9, 5, 2, 1));
        assertEquals(9, ScoringWindows.scored(ScoringWindows.plan(9, 5, 2, 1)));
    }

    @Test
    void shortTextsGiveOneShortWindowOrNothingToScore() {
        assertEquals(List.of(w(0, 3, 0)), ScoringWindows.plan(3, 512, 511, 1));
        assertEquals(List.of(w(0, 1, 0)), ScoringWindows.plan(1, 512, 511, 1));
        assertEquals(List.of(), ScoringWindows.plan(1, 512, 511, 0));
        assertEquals(List.of(), ScoringWindows.plan(0, 512, 511, 1));
    }

    @Test
    void strideThatWouldSkipTokensOrWindowWithoutRoomIsABadOption() {
        StampException e = assertThrows(StampException.class, () -> ScoringWindows.plan(100, 5, 5, 1));
        assertEquals(StampException.Kind.BAD_OPTION, e.kind());
        assertEquals("--stride must be in 1..4 for --window 5 (a larger stride would leave tokens unscored), got 5", e.getMessage());
        e = assertThrows(StampException.class, () -> ScoringWindows.plan(100, 1, 1, 1));
        assertEquals("--window 1 leaves no token to score beside 1 BOS token(s)", e.getMessage());
        assertThrows(StampException.class, () -> ScoringWindows.plan(100, 5, 0, 1));
    }
}
