package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.testmodels.RealModels;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RetrievalTest {
    @TempDir Path dir;

    private static float[][] angles(double... degrees) {
        float[][] e = new float[degrees.length][];
        for (int i = 0; i < degrees.length; i++) {
            double r = Math.toRadians(degrees[i]);
            e[i] = new float[] {(float) Math.cos(r), (float) Math.sin(r)};
        }
        return e;
    }

    @Test
    void recallAndTopOneCountWhichNeighboursAgree() {
        // points on a circle: moving point 1 from 10 to 40 degrees makes its nearest neighbour 2 instead of 0
        float[][] ref = angles(0, 10, 50, 120);
        float[][] cand = angles(0, 40, 50, 120);
        Retrieval.Result top1 = Retrieval.compare("x", ref, cand, 1);
        assertEquals(3, top1.top1Agree());
        assertEquals(0.75, top1.recallAtK(), 1e-12);
        Retrieval.Result top2 = Retrieval.compare("x", ref, cand, 2);
        assertEquals(1.0, top2.recallAtK(), 1e-12, "the same two neighbours, in another order, are full recall");
        assertEquals(3, Retrieval.compare("x", ref, cand, 10).k(), "k is capped at n - 1");
        Retrieval.Result self = Retrieval.compare("x", ref, ref, 10);
        assertEquals(1.0, self.recallAtK());
        assertEquals(4, self.top1Agree());
    }

    @Test
    void sentencesSplitAtEndPunctuationAndDropFragments() {
        List<String> s = Retrieval.sentences("One two three. Too short! Is this a question? Yes. Four five six seven.", 20);
        assertEquals(List.of("One two three.", "Is this a question?", "Four five six seven."), s);
        assertEquals(2, Retrieval.sentences("One two three. Is this a question? Four five six seven.", 2).size());
    }

    private static final String SENTENCES = String.join(" ",
            "The cat sat quietly on the warm windowsill.", "A kitten slept in a patch of morning sun.",
            "Stock markets fell sharply after the announcement.", "Investors sold shares as prices dropped.",
            "The recipe needs two cups of flour and an egg.", "Bake the bread for forty minutes at high heat.",
            "The football team won the championship final.", "Fans cheered as the striker scored again.",
            "Rain is expected across the north this weekend.", "Forecasters warn of storms and strong winds.",
            "The compiler reports an error on line twelve.", "A missing semicolon broke the build again.");

    private static double recall(String out) {
        Matcher m = Pattern.compile("recall@10 ([0-9.]+), top-1 agreement (\\d+)/12").matcher(out);
        assertTrue(m.find(), out);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void validateReportsRetrievalForMiniLm() throws Exception {
        Path text = Files.writeString(dir.resolve("s.txt"), SENTENCES);
        Path report = dir.resolve("r.json");
        String[] common = {"--tokenizer", RealModels.miniLmTokenizer().toString(), "--text", text.toString(), "--seq-len", "16", "--samples", "2", "-q"};
        CliTest.Run self = CliTest.cli(concat(new String[] {"validate", RealModels.miniLm().toString(), RealModels.miniLm().toString(),
                "--report", report.toString()}, common));
        assertEquals(0, self.code(), self.err());
        assertTrue(self.out().contains("retrieval over 12 sentences"), self.out());
        assertTrue(self.out().contains("recall@10 1.000, top-1 agreement 12/12"), self.out());
        JsonObject j = JsonParser.parseString(Files.readString(report)).getAsJsonObject().getAsJsonObject("retrieval");
        assertEquals("last_hidden_state", j.get("output").getAsString());
        assertEquals(10, j.get("k").getAsInt());
        assertEquals(12, j.get("top1_agree").getAsInt());

        Path rewritten = dir.resolve("minilm-stamp.onnx");
        CliTest.Run rw = CliTest.cli("rewrite", RealModels.miniLm().toString(), rewritten.toString(), "-q");
        assertEquals(0, rw.code(), rw.err());
        CliTest.Run q = CliTest.cli(concat(new String[] {"validate", RealModels.miniLm().toString(), rewritten.toString()}, common));
        assertEquals(0, q.code(), q.err());
        double r = recall(q.out());
        // 4-bit tokens move embeddings, but the topics (two sentences each) stay apart
        assertTrue(r > 0.5 && r <= 1.0, q.out());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
