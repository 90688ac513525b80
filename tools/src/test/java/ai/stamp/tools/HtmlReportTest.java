package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.ops.DctTransform;
import ai.stamp.ops.HaarBasis;
import ai.stamp.ops.SequenceTransform;
import ai.stamp.ops.SequenceTransforms;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HtmlReportTest {
    static final List<String> LAYERS = List.of(
            "/encoder/layer.0/attention/self/query/MatMul",
            "/encoder/layer.0/attention/self/key/MatMul",
            "/encoder/layer.0/intermediate/dense/MatMul",
            "/encoder/layer.1/output/dense/MatMul",
            "/encoder/layer.1/odd<&>\"name\"/MatMul");

    static Validator.Report report(double outSqnr, double cos, double layerBase) {
        List<Validator.LayerMetric> ls = new ArrayList<>();
        for (int i = 0; i < LAYERS.size(); i++) {
            double v = i == 2 && layerBase > 10 ? Double.POSITIVE_INFINITY : layerBase + i - (i == 4 ? 20 : 0);
            ls.add(new Validator.LayerMetric(LAYERS.get(i), LAYERS.get(i) + "_output_0", v));
        }
        return new Validator.Report(List.of(new Validator.OutputMetric("last_hidden_state", new long[] {1, 64, 16}, outSqnr, cos, "pooled", 1.34, 5.56)),
                ls, List.of("a note"), 4);
    }

    static float[] randomX(int s, int d, long seed) {
        Random r = new Random(seed);
        float[] x = new float[s * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    @Test
    void pageHasChartsNamesNumbersAndNoExternalReferences() {
        TokenEnergy.Profile p = TokenEnergy.profile(LAYERS.get(0), "/embeddings/LayerNorm/Add_1_output_0", randomX(61, 16, 3),
                new long[] {1, 61, 16}, SequenceTransforms.of("haar", 3, 1), 0, 8, 4, "");
        String html = HtmlReport.render(new HtmlReport.Data("orig.onnx", "s.onnx", "mode=stamp transform=haar levels=3 sink-tokens=1",
                report(7.45, 0.976, 11.5), "b.onnx", "mode=baseline levels=3 sink-tokens=1", report(6.25, 0.9608, 9.25), p, null));
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertEquals(3, count(html, "<svg[ >]"), "layer chart + two energy charts");
        for (String tag : List.of("svg", "table", "tr", "td", "th", "thead", "tbody", "text", "title", "details", "html", "body", "head", "style")) {
            assertEquals(count(html, "<" + tag + "[ >]"), count(html, "</" + tag + ">"), "unbalanced <" + tag + ">");
        }
        for (String name : LAYERS) assertTrue(html.contains(HtmlReport.esc(name)), name);
        assertFalse(html.contains("odd<&>"), "names are escaped");
        for (String number : List.of("7.45", "0.9760", "6.25", "0.9608", "+1.20", "inf")) assertTrue(html.contains(number), number);
        assertFalse(html.toLowerCase().contains("http"), "no external URLs");
        assertFalse(html.toLowerCase().contains("<script"), "no scripts");
        assertFalse(html.toLowerCase().contains("<link"), "no linked resources");
        assertTrue(html.contains("baseline (b.onnx)"), "second series in the legend");
        assertTrue(html.contains(HtmlReport.HI_COLOR) && html.contains(HtmlReport.LO_COLOR), "8-bit and 4-bit tokens coloured");
        assertTrue(html.contains(">A3<") && html.contains(">D1<"), "band labels");
        assertTrue(html.contains("a note"));
    }

    @Test
    void withoutBaselineOrEnergyTheChartHasOneSeries() {
        String html = HtmlReport.render(new HtmlReport.Data("orig.onnx", "s.onnx", null, report(7.45, 0.976, 11.5),
                null, null, null, null, "the rewritten model names no rewritten layers"));
        assertEquals(1, count(html, "<svg[ >]"));
        assertFalse(html.contains("baseline"), "no baseline column or series");
        assertTrue(html.contains("the rewritten model names no rewritten layers"));
        for (String name : LAYERS) assertTrue(html.contains(HtmlReport.esc(name)), name);
    }

    @Test
    void labelsDropSharedPathParts() {
        List<String> a = HtmlReport.abbreviate(LAYERS.subList(0, 4));
        assertEquals(List.of("layer.0/attention/self/query", "layer.0/attention/self/key", "layer.0/intermediate/dense", "layer.1/output/dense"), a);
        assertEquals(List.of("q"), HtmlReport.abbreviate(List.of("q")));
        assertEquals(List.of("q", "k"), HtmlReport.abbreviate(List.of("q", "k")));
        String longName = "x".repeat(80);
        assertTrue(HtmlReport.abbreviate(List.of(longName)).get(0).length() <= 48);
    }

    @Test
    void energyIsPreservedAndMatchesTheGlobalHaarInStandardOrder() {
        int s = 61, d = 5, levels = 3, sink = 1;
        float[] x = randomX(s, d, 7);
        TokenEnergy.Profile p = TokenEnergy.profile("l", "t", x, new long[] {s, d}, SequenceTransforms.of("haar", levels, sink), 0, 8, 4, null);
        assertEquals(s, p.before().length);
        assertEquals(1 + 64, p.after().length, "60 tokens padded to 64, plus the sink");
        assertEquals(p.totalBefore(), p.totalAfter(), 1e-9 * p.totalBefore());
        double[] expected = new double[64];
        for (int k = 0; k < d; k++) {
            double[] col = new double[64];
            for (int t = 0; t < s - sink; t++) col[t] = x[(t + sink) * d + k];
            HaarBasis.haar1d(col, levels);
            for (int i = 0; i < 64; i++) expected[i] += col[i] * col[i];
        }
        for (int i = 0; i < 64; i++) assertEquals(expected[i], p.after()[sink + i], 1e-9, "coefficient " + i);
        assertEquals(1 + 8, p.hiCountAfter(), "sink + band of 64/8");
        assertEquals(1 + 8, p.hiCountBefore());
        assertEquals(List.of("sink", "A3", "D3", "D2", "D1"), p.bands().stream().map(TokenEnergy.Band::name).toList());
        assertArrayEquals(new int[] {0, 1, 9, 17, 33}, p.bands().stream().mapToInt(TokenEnergy.Band::start).toArray());
    }

    @Test
    void frequencyTransformsProfileInTheirOwnStandardOrder() {
        int s = 61, d = 5, sink = 1;
        float[] x = randomX(s, d, 8);
        for (String id : List.of("dct", "wht")) {
            SequenceTransform t = SequenceTransforms.of(id, 3, sink);
            TokenEnergy.Profile p = TokenEnergy.profile("l", "t", x, new long[] {1, s, d}, t, 0, 8, 4, null);
            assertEquals(1 + 64, p.after().length);
            assertEquals(p.totalBefore(), p.totalAfter(), 1e-9 * p.totalBefore(), id + ": orthogonal");
            // block j's frequency k sits at k·nb + j (nb = 8 blocks); checked against the exact matrix directly
            double[] m = new double[64];
            float[] basis = t.blockMatrix();
            for (int j = 0; j < 8; j++) {
                for (int k = 0; k < 8; k++) {
                    for (int f = 0; f < d; f++) {
                        double c = 0;
                        for (int n = 0; n < 8; n++) {
                            int tok = sink + j * 8 + n;
                            if (tok < s) c += basis[k * 8 + n] * x[tok * d + f];
                        }
                        m[k * 8 + j] += c * c;
                    }
                }
            }
            for (int i = 0; i < 64; i++) assertEquals(m[i], p.after()[sink + i], 1e-5 * (1 + m[i]), id + " coefficient " + i);
            assertEquals(List.of("sink", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"), p.bands().stream().map(TokenEnergy.Band::name).toList());
            assertArrayEquals(new int[] {0, 1, 9, 17, 25, 33, 41, 49, 57}, p.bands().stream().mapToInt(TokenEnergy.Band::start).toArray());
            assertEquals(1 + 8, p.hiCountAfter(), "sink + the 8 k0 coefficients");
            String html = HtmlReport.render(new HtmlReport.Data("orig.onnx", "s.onnx", "mode=stamp transform=" + id + " levels=3 sink-tokens=1",
                    report(7.45, 0.976, 11.5), null, null, null, p, null));
            assertTrue(html.contains("after the " + t.displayName() + " (standard order)"), id);
            assertTrue(html.contains(">k0<") && html.contains(">k7<"), "band labels");
            assertFalse(html.contains("Haar"), id + ": no Haar wording on a " + id + " page");
        }
        assertEquals("block DCT-II", new DctTransform(3, 1).displayName());
    }

    @Test
    void aConstantSequenceLandsInTheApproximationBand() {
        int s = 33, d = 4;
        float[] x = new float[s * d];
        for (int t = 0; t < s; t++) for (int k = 0; k < d; k++) x[t * d + k] = t == 0 ? 10 : k + 1;
        TokenEnergy.Profile p = TokenEnergy.profile("l", "t", x, new long[] {1, s, d}, SequenceTransforms.of("haar", 3, 1), 0, 8, 4, null);
        assertEquals(1.0, p.hiShareAfter(), 1e-12);
        assertTrue(p.hiShareBefore() < 0.5);
        TokenEnergy.Profile k = TokenEnergy.profile("l", "t", x, new long[] {1, s, d}, SequenceTransforms.of("haar", 3, 1), 12, 8, 4, null);
        assertEquals(12, k.hiCountAfter(), "hi-tokens=12 overrides the band");
    }

    @Test
    void configMetadataIsParsed() {
        Map<String, String> c = TokenEnergy.parseConfig("mode=stamp transform=haar levels=3 sink-tokens=1 hi-tokens=band bits=8/4");
        assertEquals("3", c.get("levels"));
        assertEquals("1", c.get("sink-tokens"));
        assertEquals("band", c.get("hi-tokens"));
        assertEquals("8/4", c.get("bits"));
        assertTrue(TokenEnergy.parseConfig(null).isEmpty());
    }

    static int count(String s, String regex) {
        Matcher m = Pattern.compile(regex).matcher(s);
        int n = 0;
        while (m.find()) n++;
        return n;
    }
}
