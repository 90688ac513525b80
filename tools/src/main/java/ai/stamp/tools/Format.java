package ai.stamp.tools;

import java.util.Locale;

final class Format {
    private Format() {}

    static String db(double v) {
        if (Double.isNaN(v)) return "n/a";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static String cos(double v) {
        if (Double.isNaN(v)) return "n/a";
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
