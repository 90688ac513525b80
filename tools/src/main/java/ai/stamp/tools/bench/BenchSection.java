package ai.stamp.tools.bench;

import java.util.ArrayList;
import java.util.List;

/** One section of the {@code bench} report: a Markdown table of figures (value, target, PASS/MISS/INFO) and notes. */
public final class BenchSection {
    private final String title;
    private final List<String[]> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    public BenchSection(String title) { this.title = title; }

    public String title() { return title; }

    /** A figure without a target. */
    public void info(String figure, String value) { rows.add(new String[] {figure, value, "—", "INFO"}); }

    /** A figure with a target; PASS when {@code pass}. */
    public void check(String figure, String value, String target, boolean pass) {
        rows.add(new String[] {figure, value, target, pass ? "PASS" : "MISS"});
    }

    /** A figure that could not be measured here, with the reason as its value. */
    public void notChecked(String figure, String why, String target) { rows.add(new String[] {figure, why, target, "NOT CHECKED"}); }

    public void note(String text) { notes.add(text); }

    /** Rows as {figure, value, target, status}. */
    public List<String[]> rows() { return rows; }

    public String markdown() {
        StringBuilder sb = new StringBuilder("## ").append(title).append("\n\n");
        if (!rows.isEmpty()) {
            sb.append("| figure | value | target | status |\n|---|---|---|---|\n");
            for (String[] r : rows) sb.append("| ").append(String.join(" | ", r)).append(" |\n");
            sb.append('\n');
        }
        for (String n : notes) sb.append(n).append("\n\n");
        return sb.toString();
    }

    static String fmt(String f, Object... a) { return String.format(java.util.Locale.ROOT, f, a); }

    static double median(double[] v) {
        double[] c = v.clone();
        java.util.Arrays.sort(c);
        int n = c.length;
        return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    }
}
