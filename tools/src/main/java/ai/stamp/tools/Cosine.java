package ai.stamp.tools;

/**
 * Cosine similarities used by validation (docs/method.md#measures).
 * <ul>
 *   <li>{@link #of}: cosine of two flattened tensors.</li>
 *   <li>{@link #meanPool} then {@link #of}: the cosine of the attention-mask mean-pooled embedding, which is what
 *   sentence-embedding models such as all-MiniLM-L6-v2 return for a [batch, seq, hidden] output.</li>
 * </ul>
 */
public final class Cosine {
    private Cosine() {}

    /** cos(a, b) = a·b / (‖a‖‖b‖); 1 when both are all zero, 0 when exactly one is. */
    public static double of(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("cosine needs equal lengths, got " + a.length + " and " + b.length);
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        if (na == 0 && nb == 0) return 1;
        if (na == 0 || nb == 0) return 0;
        return dot / Math.sqrt(na * nb);
    }

    /**
     * Mean-pools a [batch, seq, hidden] tensor (row-major) over the tokens whose mask is non-zero, one embedding
     * per batch element. {@code mask} is [batch, seq] or null (all tokens count).
     */
    public static float[][] meanPool(float[] data, long[] shape, long[] mask) {
        if (shape.length != 3) throw new IllegalArgumentException("mean pooling needs a rank-3 [batch, seq, hidden] tensor");
        int batch = (int) shape[0], seq = (int) shape[1], hidden = (int) shape[2];
        if ((long) batch * seq * hidden != data.length) throw new IllegalArgumentException("shape does not match data length");
        if (mask != null && mask.length != batch * seq) throw new IllegalArgumentException("mask must be [batch, seq] = " + batch + "x" + seq);
        float[][] out = new float[batch][hidden];
        for (int b = 0; b < batch; b++) {
            double[] sum = new double[hidden];
            int n = 0;
            for (int s = 0; s < seq; s++) {
                if (mask != null && mask[b * seq + s] == 0) continue;
                n++;
                int base = (b * seq + s) * hidden;
                for (int h = 0; h < hidden; h++) sum[h] += data[base + h];
            }
            for (int h = 0; h < hidden; h++) out[b][h] = n == 0 ? 0f : (float) (sum[h] / n);
        }
        return out;
    }
}
