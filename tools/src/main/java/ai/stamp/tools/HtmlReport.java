package ai.stamp.tools;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The self-contained HTML page of {@code validate --html}: inline CSS and inline SVG only (no scripts, nothing
 * fetched). Sections: the models, a summary table of the model outputs, a per-layer SQNR chart (STaMP vs baseline
 * when a baseline is given), a per-layer table, and the token-energy profile of one layer before and after the
 * sequence transform. Pure rendering: every number is passed in.
 */
public final class HtmlReport {
    static final String HI_COLOR = "#e8730c";
    static final String LO_COLOR = "#4a7bb7";
    static final String STAMP_COLOR = "#2f6db5";
    static final String BASE_COLOR = "#b0b0b0";

    private HtmlReport() {}

    /**
     * What the page shows. {@code baseline}, {@code baselineName}, {@code baselineConfig} and {@code energy} may be
     * null; {@code energyNote} says why there is no energy profile when {@code energy} is null.
     */
    public record Data(String originalName, String rewrittenName, String rewrittenConfig, Validator.Report rewritten,
                       String baselineName, String baselineConfig, Validator.Report baseline,
                       TokenEnergy.Profile energy, String energyNote) {}

    /** One series of the layer chart; NaN marks a layer the series lacks. */
    record Series(String name, String color, double[] values) {}

    public static String render(Data d) {
        StringBuilder h = new StringBuilder(64 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<title>stamp-onnx validate: ").append(esc(d.rewrittenName())).append("</title>\n")
                .append("<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        h.append("<h1>stamp-onnx validate</h1>\n");
        models(h, d);
        summary(h, d);
        layers(h, d);
        energy(h, d);
        notes(h, d);
        h.append("</body>\n</html>\n");
        return h.toString();
    }

    // ------------------------------------------------------------------ sections

    private static void models(StringBuilder h, Data d) {
        h.append("<table class=\"meta\">\n");
        row(h, "original", esc(d.originalName()));
        row(h, "rewritten", esc(d.rewrittenName()) + config(d.rewrittenConfig()));
        if (d.baseline() != null) row(h, "baseline", esc(d.baselineName()) + config(d.baselineConfig()));
        row(h, "samples", Integer.toString(d.rewritten().samples()));
        h.append("</table>\n");
    }

    private static String config(String c) {
        return c == null || c.isEmpty() ? " <span class=\"dim\">(no ai.stamp.config metadata)</span>" : "<br><code>" + esc(c) + "</code>";
    }

    private static void row(StringBuilder h, String k, String v) {
        h.append("<tr><th>").append(esc(k)).append("</th><td>").append(v).append("</td></tr>\n");
    }

    private static void summary(StringBuilder h, Data d) {
        boolean base = d.baseline() != null;
        h.append("<h2>Model outputs</h2>\n<table class=\"num\">\n<thead><tr><th>output</th><th>shape</th>")
                .append("<th>SQNR (dB)</th><th>cosine</th><th>max|&Delta;|/max|x|</th>");
        if (base) h.append("<th>baseline SQNR (dB)</th><th>baseline cosine</th><th>&Delta; SQNR (dB)</th>");
        h.append("</tr></thead>\n<tbody>\n");
        for (Validator.OutputMetric o : d.rewritten().outputs()) {
            h.append("<tr><td class=\"name\">").append(esc(o.name())).append("</td><td>").append(shape(o.shape())).append("</td><td>")
                    .append(Format.db(o.sqnrDb())).append("</td><td>").append(Format.cos(o.cosine())).append(" <span class=\"dim\">")
                    .append(esc(String.valueOf(o.cosineKind()))).append("</span></td><td>")
                    .append(String.format(Locale.ROOT, "%.3g", o.maxRelativeError())).append("</td>");
            if (base) {
                Validator.OutputMetric b = find(d.baseline().outputs(), o.name());
                if (b == null) {
                    h.append("<td>n/a</td><td>n/a</td><td>n/a</td>");
                } else {
                    h.append("<td>").append(Format.db(b.sqnrDb())).append("</td><td>").append(Format.cos(b.cosine()))
                            .append("</td>").append(delta(o.sqnrDb(), b.sqnrDb()));
                }
            }
            h.append("</tr>\n");
        }
        h.append("<tr class=\"mean\"><td class=\"name\">mean layer SQNR (").append(d.rewritten().layers().size())
                .append(" layers)</td><td></td><td>").append(Format.db(d.rewritten().meanLayerSqnrDb())).append("</td><td></td><td></td>");
        if (base) {
            h.append("<td>").append(Format.db(d.baseline().meanLayerSqnrDb())).append("</td><td></td>")
                    .append(delta(d.rewritten().meanLayerSqnrDb(), d.baseline().meanLayerSqnrDb()));
        }
        h.append("</tr>\n</tbody>\n</table>\n");
    }

    private static Validator.OutputMetric find(List<Validator.OutputMetric> list, String name) {
        for (Validator.OutputMetric m : list) if (m.name().equals(name)) return m;
        return null;
    }

    private static String delta(double a, double b) {
        double dlt = a - b;
        if (!Double.isFinite(dlt)) return "<td>n/a</td>";
        String cls = dlt > 0 ? "pos" : dlt < 0 ? "neg" : "";
        return "<td class=\"" + cls + "\">" + String.format(Locale.ROOT, "%+.2f", dlt) + "</td>";
    }

    private static String shape(long[] s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < s.length; i++) b.append(i == 0 ? "" : ", ").append(s[i]);
        return b.append(']').toString();
    }

    private static void layers(StringBuilder h, Data d) {
        h.append("<h2>Per-layer SQNR</h2>\n");
        List<Validator.LayerMetric> ls = d.rewritten().layers();
        if (ls.isEmpty()) {
            h.append("<p class=\"dim\">No per-layer measurements (the rewritten model names no layers).</p>\n");
            return;
        }
        // layer order: the rewritten model's, then any baseline-only layers
        Map<String, double[]> byName = new LinkedHashMap<>();
        for (Validator.LayerMetric l : ls) byName.put(l.name(), new double[] {l.sqnrDb(), Double.NaN});
        if (d.baseline() != null) {
            for (Validator.LayerMetric l : d.baseline().layers()) {
                byName.computeIfAbsent(l.name(), k -> new double[] {Double.NaN, Double.NaN})[1] = l.sqnrDb();
            }
        }
        List<String> names = new ArrayList<>(byName.keySet());
        double[] s = new double[names.size()];
        double[] b = new double[names.size()];
        for (int i = 0; i < names.size(); i++) {
            s[i] = byName.get(names.get(i))[0];
            b[i] = byName.get(names.get(i))[1];
        }
        List<Series> series = new ArrayList<>();
        series.add(new Series(d.baseline() != null ? "STaMP (" + d.rewrittenName() + ")" : d.rewrittenName(), STAMP_COLOR, s));
        if (d.baseline() != null) series.add(new Series("baseline (" + d.baselineName() + ")", BASE_COLOR, b));
        h.append("<p class=\"caption\">SQNR of each rewritten layer's output tensor against the same tensor in the original, ")
                .append("over all samples. Labels drop the path parts all layer names share; hover a bar or label for the full name.</p>\n");
        h.append(layerChart(names, series));
        h.append("<details><summary>table of all ").append(names.size()).append(" layers</summary>\n<table class=\"num\">\n<thead><tr><th>#</th><th>layer</th>");
        h.append(d.baseline() != null ? "<th>STaMP (dB)</th><th>baseline (dB)</th><th>&Delta; (dB)</th>" : "<th>SQNR (dB)</th>");
        h.append("</tr></thead>\n<tbody>\n");
        for (int i = 0; i < names.size(); i++) {
            h.append("<tr><td>").append(i).append("</td><td class=\"name\">").append(esc(names.get(i))).append("</td><td>").append(Format.db(s[i])).append("</td>");
            if (d.baseline() != null) h.append("<td>").append(Format.db(b[i])).append("</td>").append(delta(s[i], b[i]));
            h.append("</tr>\n");
        }
        h.append("</tbody>\n</table>\n</details>\n");
    }

    private static void energy(StringBuilder h, Data d) {
        h.append("<h2>Token energy</h2>\n");
        TokenEnergy.Profile p = d.energy();
        if (p == null) {
            h.append("<p class=\"dim\">No energy profile").append(d.energyNote() == null ? "." : ": " + esc(d.energyNote())).append("</p>\n");
            return;
        }
        h.append("<p class=\"caption\">Layer <code>").append(esc(p.layer())).append("</code>, input tensor <code>").append(esc(p.tensor()))
                .append("</code> ").append(shape(p.shape())).append(" of the original model on the first sample (the first [S, D] slice). ")
                .append("Per-token energy &Vert;x<sub>t</sub>&Vert;&sup2;, log scale, both plots on the same scale. ")
                .append(String.format(Locale.ROOT, "The transform: %d sink token(s) kept out, the other %d tokens zero-padded to %d (blocks of %d), ",
                        p.sink(), p.before().length - p.sink(), p.after().length - p.sink(), 1 << p.levels()))
                .append(String.format(Locale.ROOT, "the %s (levels=%d) per block, shown in the transform's global standard order (the band: one "
                        + "coefficient per block, then the other coefficient classes; labels above the plot). ", esc(p.transform().displayName()), p.levels()))
                .append(String.format(Locale.ROOT, "<span style=\"color:%s\">&#9632;</span> %d-bit tokens, <span style=\"color:%s\">&#9632;</span> %d-bit tokens; ",
                        HI_COLOR, p.hiBits(), LO_COLOR, p.loBits()))
                .append(String.format(Locale.ROOT, "before: the matched baseline's first %d tokens at %d bits.", p.hiCountBefore(), p.hiBits()));
        if (p.note() != null && !p.note().isEmpty()) h.append(" ").append(esc(p.note()));
        h.append("</p>\n");
        h.append("<table class=\"num\">\n<thead><tr><th></th><th>tokens</th><th>").append(p.hiBits()).append("-bit tokens</th><th>energy in ")
                .append(p.hiBits()).append("-bit tokens</th><th>total energy</th></tr></thead>\n<tbody>\n");
        h.append("<tr><td class=\"name\">before (identity)</td><td>").append(p.before().length).append("</td><td>").append(p.hiCountBefore())
                .append("</td><td>").append(pct(p.hiShareBefore())).append("</td><td>").append(sci(p.totalBefore())).append("</td></tr>\n");
        h.append("<tr><td class=\"name\">after (").append(esc(p.transform().id())).append(")</td><td>").append(p.after().length).append("</td><td>").append(p.hiCountAfter())
                .append("</td><td>").append(pct(p.hiShareAfter())).append("</td><td>").append(sci(p.totalAfter())).append("</td></tr>\n");
        h.append("</tbody>\n</table>\n");
        double[] range = logRange(p.before(), p.after());
        h.append(energyChart("before the transform (token order)", p.before(), p.hiBefore(), List.of(), range, p.hiBits(), p.loBits()));
        h.append(energyChart("after the " + p.transform().displayName() + " (standard order)", p.after(), p.hiAfter(), p.bands(), range, p.hiBits(), p.loBits()));
    }

    private static void notes(StringBuilder h, Data d) {
        List<String> all = new ArrayList<>(d.rewritten().notes());
        if (d.baseline() != null) for (String n : d.baseline().notes()) all.add("baseline: " + n);
        if (all.isEmpty()) return;
        h.append("<h2>Notes</h2>\n<ul>\n");
        for (String n : all) h.append("<li>").append(esc(n)).append("</li>\n");
        h.append("</ul>\n");
    }

    // ------------------------------------------------------------------ charts

    /** Horizontal grouped bars, one row per layer (names on the left, readable without rotation). */
    static String layerChart(List<String> names, List<Series> series) {
        List<String> labels = abbreviate(names);
        int maxLen = 8;
        for (String l : labels) maxLen = Math.max(maxLen, l.length());
        int labelW = (int) Math.ceil(maxLen * 7.3) + 16;
        int width = 1100, left = labelW, right = 60, top = 46, barH = 8;
        int rowH = Math.max(16, series.size() * barH + 4);
        int plotW = width - left - right;
        int plotH = rowH * names.size();
        int height = top + plotH + 30;

        double lo = 0, hi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (double v : s.values()) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (!Double.isFinite(hi) || hi <= lo) hi = lo + 10;
        double step = niceStep((hi - lo) / 8);
        lo = Math.floor(lo / step) * step;
        hi = Math.ceil(hi / step) * step;
        final double xlo = lo, xhi = hi;
        java.util.function.DoubleUnaryOperator x = v -> left + (Math.max(xlo, Math.min(xhi, v)) - xlo) / (xhi - xlo) * plotW;

        StringBuilder g = new StringBuilder();
        g.append(String.format(Locale.ROOT, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", width, height, width, height));
        g.append("<title>per-layer SQNR (dB)</title>\n");
        // legend
        int lx = left;
        for (Series s : series) {
            g.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"6\" width=\"12\" height=\"12\" fill=\"%s\"/>", lx, s.color()));
            g.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" class=\"legend\">%s</text>\n", lx + 16, esc(s.name())));
            lx += 16 + (int) (s.name().length() * 7.0) + 24;
        }
        // row backgrounds
        for (int i = 0; i < names.size(); i++) {
            if (i % 2 == 0) g.append(String.format(Locale.ROOT, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f3f5f8\"/>\n", top + i * rowH, width, rowH));
        }
        // grid and axis labels
        for (double t = lo; t <= hi + step / 2; t += step) {
            double px = x.applyAsDouble(t);
            String cls = Math.abs(t) < step / 1e6 ? "axis" : "grid";
            g.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"%s\"/>", px, top - 4, px, top + plotH, cls));
            String tl = fmtTick(t);
            g.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s</text>", px, top - 8, tl));
            g.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s</text>\n", px, top + plotH + 14, tl));
        }
        g.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">SQNR (dB)</text>\n", width - 4, top + plotH + 28));
        // bars
        for (int i = 0; i < names.size(); i++) {
            int y0 = top + i * rowH + (rowH - series.size() * barH) / 2;
            String full = esc(names.get(i));
            g.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"label\" text-anchor=\"end\"><title>%s</title>%s</text>\n",
                    left - 8, top + i * rowH + rowH / 2 + 4, full, esc(labels.get(i))));
            for (int k = 0; k < series.size(); k++) {
                Series s = series.get(k);
                double v = s.values()[i];
                int y = y0 + k * barH;
                String tip = full + " &#8212; " + esc(s.name()) + ": " + Format.db(v) + " dB";
                if (Double.isNaN(v)) {
                    g.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"val\"><title>%s</title>n/a</text>\n", x.applyAsDouble(0) + 4, y + barH - 1, tip));
                    continue;
                }
                double zero = x.applyAsDouble(0);
                double end = x.applyAsDouble(v);
                double bx = Math.min(zero, end), bw = Math.max(Math.abs(end - zero), 0.5);
                g.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>",
                        bx, y, bw, barH - 1, s.color(), tip));
                double tx = v >= 0 ? end + 3 : end - 3;
                g.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"val\" text-anchor=\"%s\">%s</text>\n",
                        tx, y + barH - 1, v >= 0 ? "start" : "end", Format.db(v)));
            }
        }
        g.append("</svg>\n");
        return g.toString();
    }

    /** Vertical bars per token on a log scale from 10^range[0] to 10^range[1]; band starts as dashed lines. */
    static String energyChart(String title, double[] v, boolean[] hi, List<TokenEnergy.Band> bands, double[] range, int hiBits, int loBits) {
        int width = 1100, left = 64, right = 16, top = 40, plotH = 170;
        int plotW = width - left - right;
        int height = top + plotH + 44;
        double lg0 = range[0], lg1 = range[1];
        int n = Math.max(1, v.length);
        double bw = (double) plotW / n;
        java.util.function.DoubleUnaryOperator y = e -> {
            double l = e > 0 ? Math.log10(e) : lg0;
            l = Math.max(lg0, Math.min(lg1, l));
            return top + plotH - (l - lg0) / (lg1 - lg0) * plotH;
        };
        StringBuilder g = new StringBuilder();
        g.append(String.format(Locale.ROOT, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", width, height, width, height));
        g.append("<title>").append(esc(title)).append("</title>\n");
        g.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" class=\"ctitle\">%s</text>\n", left, esc(title)));
        g.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafbfc\" stroke=\"#ccc\"/>\n", left, top, plotW, plotH));
        // decades
        int decades = (int) Math.round(lg1 - lg0);
        int every = decades > 10 ? 2 : 1;
        for (int k = (int) Math.round(lg0); k <= Math.round(lg1); k += every) {
            double py = top + plotH - (k - lg0) / (lg1 - lg0) * plotH;
            g.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>", left, py, left + plotW, py));
            g.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">1e%d</text>\n", left - 6, py + 4, k));
        }
        if (decades <= 4) {
            for (int k = (int) Math.round(lg0); k < Math.round(lg1); k++) {
                for (int m = 2; m <= 9; m++) {
                    double py = top + plotH - (k + Math.log10(m) - lg0) / (lg1 - lg0) * plotH;
                    g.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"minor\"/>", left, py, left + plotW, py));
                }
            }
            g.append('\n');
        }
        g.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%d\" class=\"tick\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">&#8214;x&#8214;&#178;</text>\n",
                top + plotH / 2, top + plotH / 2));
        // bars: one path per colour (small file), a title per token for hover
        StringBuilder hiPath = new StringBuilder(), loPath = new StringBuilder();
        double base = top + plotH;
        double gap = bw > 3 ? 1 : 0;
        for (int i = 0; i < v.length; i++) {
            double py = y.applyAsDouble(v[i]);
            if (base - py < 0.01) continue;
            StringBuilder p = hi[i] ? hiPath : loPath;
            p.append(String.format(Locale.ROOT, "M%.2f %.2fh%.2fV%.2fh%.2fZ", left + i * bw, base, Math.max(bw - gap, 0.6), py, -Math.max(bw - gap, 0.6)));
        }
        if (loPath.length() > 0) g.append("<path fill=\"").append(LO_COLOR).append("\" d=\"").append(loPath).append("\"/>\n");
        if (hiPath.length() > 0) g.append("<path fill=\"").append(HI_COLOR).append("\" d=\"").append(hiPath).append("\"/>\n");
        // invisible hover targets
        g.append("<g class=\"hover\">");
        for (int i = 0; i < v.length; i++) {
            g.append(String.format(Locale.ROOT, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\"><title>token %d: %s (%d bits)</title></rect>",
                    left + i * bw, top, bw, plotH, i, sci(v[i]), hi[i] ? hiBits : loBits));
        }
        g.append("</g>\n");
        // bands
        for (TokenEnergy.Band b : bands) {
            double px = left + b.start() * bw;
            if (b.start() > 0) {
                g.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"band\"/>", px, top - 12, px, top + plotH));
            }
            double cx = px + b.length() * bw / 2;
            if (b.length() * bw >= 14) {
                g.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s</text>\n", cx, top - 4, esc(b.name())));
            }
        }
        // x ticks
        int step = (int) Math.max(1, niceStep(n / 16.0));
        for (int i = 0; i <= n; i += step) {
            double px = left + i * bw;
            g.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"axis\"/>", px, top + plotH, px, top + plotH + 4));
            g.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%d</text>\n", px, top + plotH + 16, i));
        }
        g.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">token position</text>\n", left + plotW, top + plotH + 34));
        g.append("</svg>\n");
        return g.toString();
    }

    /** Common log10 range of the positive values: whole decades, at most 9 below the maximum. */
    static double[] logRange(double[]... vs) {
        double max = 0, min = Double.POSITIVE_INFINITY;
        for (double[] v : vs) {
            for (double e : v) {
                if (e > 0 && Double.isFinite(e)) {
                    max = Math.max(max, e);
                    min = Math.min(min, e);
                }
            }
        }
        if (max == 0) return new double[] {0, 1};
        double hi = Math.ceil(Math.log10(max));
        double lo = Math.floor(Math.log10(min));
        lo = Math.max(lo, hi - 9);
        if (hi <= lo) lo = hi - 1;
        return new double[] {lo, hi};
    }

    /** Layer labels: the '/'-separated parts every name shares at the start and end dropped, long ones ellipsized. */
    static List<String> abbreviate(List<String> names) {
        List<String[]> parts = new ArrayList<>();
        for (String n : names) parts.add(n.split("/", -1));
        int pre = 0, suf = 0;
        if (names.size() > 1) {
            int min = Integer.MAX_VALUE;
            for (String[] p : parts) min = Math.min(min, p.length);
            outer:
            while (pre < min - 1) {
                for (String[] p : parts) if (!p[pre].equals(parts.get(0)[pre])) break outer;
                pre++;
            }
            outer2:
            while (suf < min - 1 - pre) {
                String[] p0 = parts.get(0);
                for (String[] p : parts) if (!p[p.length - 1 - suf].equals(p0[p0.length - 1 - suf])) break outer2;
                suf++;
            }
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String[] p = parts.get(i);
            String s = String.join("/", java.util.Arrays.copyOfRange(p, pre, p.length - suf));
            if (s.isEmpty()) s = names.get(i);
            if (s.length() > 48) s = s.substring(0, 22) + "\u2026" + s.substring(s.length() - 25);
            out.add(s);
        }
        return out;
    }

    static double niceStep(double raw) {
        if (!(raw > 0)) return 1;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double r = raw / mag;
        return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
    }

    private static String fmtTick(double t) {
        return Math.abs(t - Math.rint(t)) < 1e-9 ? Long.toString(Math.round(t)) : String.format(Locale.ROOT, "%.1f", t);
    }

    private static String pct(double f) {
        return Double.isFinite(f) ? String.format(Locale.ROOT, "%.1f%%", 100 * f) : "n/a";
    }

    private static String sci(double v) {
        return String.format(Locale.ROOT, "%.3g", v);
    }

    static String esc(String s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static final String CSS = """
            body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px 32px; color: #222; max-width: 1160px; }
            h1 { font-size: 22px; margin: 0 0 12px; }
            h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
            table { border-collapse: collapse; font-size: 13px; margin: 6px 0 10px; }
            th, td { border: 1px solid #d6d9de; padding: 4px 8px; }
            th { background: #eef1f5; text-align: left; }
            table.num td { text-align: right; font-variant-numeric: tabular-nums; }
            table.num td.name { text-align: left; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
            table.meta th { width: 90px; }
            tr.mean td { background: #f7f7f7; }
            td.pos { color: #1a7f37; font-weight: 600; }
            td.neg { color: #b42318; font-weight: 600; }
            .dim { color: #777; }
            .caption { font-size: 13px; color: #444; max-width: 1100px; line-height: 1.45; }
            code { font-size: 12px; background: #f3f3f3; padding: 1px 3px; border-radius: 3px; }
            details { font-size: 13px; margin: 4px 0 12px; }
            svg.chart { display: block; margin: 6px 0 14px; font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; }
            svg .label { font-size: 12px; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; fill: #222; }
            svg .tick { font-size: 11px; fill: #555; }
            svg .val { font-size: 9px; fill: #444; }
            svg .legend { font-size: 12px; fill: #222; }
            svg .ctitle { font-size: 13px; font-weight: 600; fill: #222; }
            svg .grid { stroke: #dde1e6; stroke-width: 1; }
            svg .minor { stroke: #eceef1; stroke-width: 1; }
            svg .axis { stroke: #888; stroke-width: 1; }
            svg .band { stroke: #555; stroke-width: 1; stroke-dasharray: 4 3; }
            svg .hover rect { fill: transparent; }
            svg .hover rect:hover { fill: rgba(0, 0, 0, 0.08); }
            """;
}
