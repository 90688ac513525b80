package ai.stamp.tools;

/**
 * Signal-to-quantization-noise ratio, accumulated over any number of tensor pairs:
 * {@code SQNR = 10·log10(Σ‖x‖² / Σ‖x − x̂‖²)} dB (docs/method.md#measures). Sums run in double precision.
 * No error at all gives {@code +Infinity}. Also tracks {@code max|x|} and {@code max|x − x̂|}.
 */
public final class Sqnr {
    private double signal;
    private double noise;
    private double maxAbsRef;
    private double maxAbsErr;
    private long count;

    /** Adds one pair: {@code reference} (the original model's values) and {@code test} (the rewritten model's). */
    public Sqnr add(float[] reference, float[] test) {
        if (reference.length != test.length) {
            throw new IllegalArgumentException("SQNR needs equal lengths, got " + reference.length + " and " + test.length);
        }
        for (int i = 0; i < reference.length; i++) {
            double x = reference[i];
            double e = x - test[i];
            signal += x * x;
            noise += e * e;
            maxAbsRef = Math.max(maxAbsRef, Math.abs(x));
            double ae = Math.abs(e);
            if (ae > maxAbsErr || Double.isNaN(ae)) maxAbsErr = ae;
        }
        count += reference.length;
        return this;
    }

    /** SQNR in dB of everything added so far; {@code +Infinity} when the noise is zero, NaN when nothing was added. */
    public double db() {
        if (count == 0) return Double.NaN;
        return db(signal, noise);
    }

    /** 10·log10(signal / noise), {@code +Infinity} for zero noise. */
    public static double db(double signal, double noise) {
        if (noise == 0) return Double.POSITIVE_INFINITY;
        return 10 * Math.log10(signal / noise);
    }

    /** SQNR in dB of one pair. */
    public static double of(float[] reference, float[] test) {
        return new Sqnr().add(reference, test).db();
    }

    public double signalEnergy() { return signal; }
    public double noiseEnergy() { return noise; }
    public double maxAbsReference() { return maxAbsRef; }
    public double maxAbsError() { return maxAbsErr; }
    /** {@code max|x − x̂| / max|x|}: the relative worst-case error. */
    public double maxRelativeError() { return maxAbsRef == 0 ? (maxAbsErr == 0 ? 0 : Double.POSITIVE_INFINITY) : maxAbsErr / maxAbsRef; }
    public long count() { return count; }
}
