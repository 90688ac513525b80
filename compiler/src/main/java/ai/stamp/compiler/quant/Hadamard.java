package ai.stamp.compiler.quant;

import java.util.Random;

/**
 * Orthonormal Hadamard rotations R [n, n] for the feature transform of docs/method.md#feature-transforms,
 * {@code Y = L^T Q(L X R) (R^T W)}, with R^T folded into W offline.
 *
 * <p>Why: a Hadamard rotation spreads an outlier feature channel evenly over all channels (a one-hot row becomes
 * ±1/√n everywhere), which makes activations easier to quantize, and it is exactly orthogonal so the fold is
 * lossless in exact arithmetic. Real transformer widths are often not powers of two (384, 768, 1536, 3072 = 12·2^k,
 * 640 = 20·2^k, ...), so sizes n = m · 2^k with m ∈ {1, 12, 20, 28} are built as H_m ⊗ H_{2^k}:
 * <ul>
 *   <li>H_{2^k}: Sylvester construction;</li>
 *   <li>H_12, H_20, H_28: Paley construction I over GF(q), q = 11, 19 (prime) and 27 (= 3^3), all q ≡ 3 (mod 4):
 *       H = I + [[0, 1^T], [-1, Q]] with Q the Jacobsthal matrix Q[i][j] = χ(a_i − a_j);</li>
 * </ul>
 * scaled by 1/√n, so R^T R = I and every entry is ±1/√n.
 */
public final class Hadamard {

    /** The non-power-of-two factors m available (besides 1). */
    private static final int[] BASES = {12, 20, 28};

    private Hadamard() {}

    /** Whether {@link #matrix(int)} supports n, i.e. n = m · 2^k, m ∈ {1, 12, 20, 28}, k ≥ 0. */
    public static boolean supports(int n) {
        return base(n) > 0;
    }

    /** The m of n = m · 2^k (m ∈ {1, 12, 20, 28}), or -1 when n is unsupported. */
    static int base(int n) {
        if (n <= 0) return -1;
        if (isPowerOfTwo(n)) return 1;
        for (int m : BASES) if (n % m == 0 && isPowerOfTwo(n / m)) return m;
        return -1;
    }

    /** The orthonormal Hadamard matrix of order n, row-major [n, n], entries ±1/√n. */
    public static double[] matrix(int n) {
        int m = base(n);
        if (m < 0)
            throw new IllegalArgumentException("no Hadamard matrix for n = " + n
                    + "; supported sizes are 2^k, 12·2^k, 20·2^k and 28·2^k (k >= 0), e.g. 384 = 12·32, 640 = 20·32, 768 = 12·64");
        int[] hm = m == 1 ? new int[] {1} : paley(m - 1);
        int[] h = kron(hm, m, sylvester(n / m), n / m);
        double inv = 1.0 / Math.sqrt(n);
        double[] r = new double[n * n];
        for (int i = 0; i < r.length; i++) r[i] = h[i] * inv;
        return r;
    }

    /**
     * A randomized Hadamard rotation R · diag(s) with random signs s ∈ {±1}^n drawn from {@code seed}: still
     * orthogonal with entries ±1/√n, but decorrelated from the fixed Hadamard pattern (as in QuaRot/SpinQuant).
     */
    public static double[] randomized(int n, long seed) {
        double[] r = matrix(n);
        Random rnd = new Random(seed);
        for (int j = 0; j < n; j++) {
            if (rnd.nextBoolean()) continue;
            for (int i = 0; i < n; i++) r[i * n + j] = -r[i * n + j];
        }
        return r;
    }

    /**
     * The structure of {@link #matrix} / {@link #randomized} for a fast product: R = (H_m ⊗ H_b)/√n · diag(signs), H_b the
     * Sylvester matrix of order b = n/m, H_m the Paley matrix (or [1]); {@code signs} null for the plain rotation.
     */
    public record Factors(int n, int m, int[] hm, int b, double[] signs) {}

    /** The factors of {@link #matrix}{@code (n)} ({@code seed} null) or {@link #randomized}{@code (n, seed)}. */
    public static Factors factors(int n, Long seed) {
        int m = base(n);
        if (m < 0) throw new IllegalArgumentException("no Hadamard matrix for n = " + n);
        double[] signs = null;
        if (seed != null) {
            signs = new double[n];
            Random rnd = new Random(seed);
            for (int j = 0; j < n; j++) signs[j] = rnd.nextBoolean() ? 1 : -1;
        }
        return new Factors(n, m, m == 1 ? new int[] {1} : paley(m - 1), n / m, signs);
    }

    /**
     * R^T · W for W [n, cols] row-major, in O(n·cols·(log2 b + m)) instead of the dense O(n²·cols): a fast Walsh–Hadamard
     * transform of each group of b rows (H_b is symmetric), then H_m^T across the m groups, the 1/√n scale, and the
     * signs (R^T = diag(signs)·(H_m^T ⊗ H_b)/√n). Equal to the dense product up to double rounding.
     */
    public static double[] transposeTimes(Factors f, double[] w, int cols) {
        int n = f.n(), m = f.m(), b = f.b();
        double[] t = w.clone();
        for (int g = 0; g < m; g++) {
            int base = g * b;
            for (int h = 1; h < b; h *= 2) {
                for (int i = 0; i < b; i += 2 * h) {
                    for (int j = i; j < i + h; j++) {
                        int x = (base + j) * cols, y = (base + j + h) * cols;
                        for (int c = 0; c < cols; c++) {
                            double u = t[x + c], v = t[y + c];
                            t[x + c] = u + v;
                            t[y + c] = u - v;
                        }
                    }
                }
            }
        }
        double inv = 1.0 / Math.sqrt(n);
        double[] out = new double[n * cols];
        for (int a = 0; a < m; a++) {
            for (int a2 = 0; a2 < m; a2++) {
                double coef = f.hm()[a2 * m + a] * inv; // (H_m^T)[a][a2] = H_m[a2][a]
                for (int p = 0; p < b; p++) {
                    int o = (a * b + p) * cols, src = (a2 * b + p) * cols;
                    for (int c = 0; c < cols; c++) out[o + c] += coef * t[src + c];
                }
            }
        }
        if (f.signs() != null) {
            for (int r = 0; r < n; r++) {
                if (f.signs()[r] < 0) for (int c = 0; c < cols; c++) out[r * cols + c] = -out[r * cols + c];
            }
        }
        return out;
    }

    /** Narrowing copy to float. */
    public static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    /** Unnormalized Sylvester Hadamard matrix of order n (a power of two), entries ±1. */
    static int[] sylvester(int n) {
        int[] h = {1};
        int size = 1;
        while (size < n) {
            int s2 = size * 2;
            int[] g = new int[s2 * s2];
            for (int i = 0; i < size; i++)
                for (int j = 0; j < size; j++) {
                    int v = h[i * size + j];
                    g[i * s2 + j] = v;
                    g[i * s2 + j + size] = v;
                    g[(i + size) * s2 + j] = v;
                    g[(i + size) * s2 + j + size] = -v;
                }
            h = g;
            size = s2;
        }
        return h;
    }

    /** Kronecker product A ⊗ B of square matrices (orders a, b). */
    static int[] kron(int[] A, int a, int[] B, int b) {
        int n = a * b;
        int[] k = new int[n * n];
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++) {
                int v = A[i * a + j];
                for (int p = 0; p < b; p++)
                    for (int q = 0; q < b; q++) k[(i * b + p) * n + j * b + q] = v * B[p * b + q];
            }
        return k;
    }

    /** Paley construction I: unnormalized Hadamard matrix of order q + 1 for q ∈ {11, 19, 27}. */
    static int[] paley(int q) {
        Field f = switch (q) {
            case 11, 19 -> Field.prime(q);
            case 27 -> Field.gf27();
            default -> throw new IllegalArgumentException("Paley construction only for q = 11, 19, 27, got " + q);
        };
        boolean[] square = new boolean[q];
        for (int a = 1; a < q; a++) square[f.mul(a, a)] = true;
        int n = q + 1;
        int[] h = new int[n * n];
        // S = [[0, 1^T], [-1, Q]], H = I + S
        for (int j = 1; j < n; j++) { h[j] = 1; h[j * n] = -1; }
        for (int i = 0; i < q; i++)
            for (int j = 0; j < q; j++) {
                int diff = f.sub(i, j);
                h[(i + 1) * n + j + 1] = diff == 0 ? 0 : (square[diff] ? 1 : -1);
            }
        for (int i = 0; i < n; i++) h[i * n + i] += 1;
        return h;
    }

    /** Minimal finite field on element codes 0..q-1 (0 is the zero element). */
    private interface Field {
        int sub(int a, int b);
        int mul(int a, int b);

        static Field prime(int p) {
            return new Field() {
                public int sub(int a, int b) { return Math.floorMod(a - b, p); }
                public int mul(int a, int b) { return (a * b) % p; }
            };
        }

        /** GF(27) = GF(3)[x] / (x^3 − x + 1); code c0 + 3 c1 + 9 c2 for c0 + c1 x + c2 x^2. */
        static Field gf27() {
            return new Field() {
                public int sub(int a, int b) {
                    int r = 0, p = 1;
                    for (int k = 0; k < 3; k++, p *= 3, a /= 3, b /= 3) r += Math.floorMod(a % 3 - b % 3, 3) * p;
                    return r;
                }
                public int mul(int a, int b) {
                    int[] x = {a % 3, a / 3 % 3, a / 9};
                    int[] y = {b % 3, b / 3 % 3, b / 9};
                    int[] z = new int[5];
                    for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) z[i + j] += x[i] * y[j];
                    // x^3 = x − 1, x^4 = x^2 − x
                    z[2] += z[4]; z[1] -= z[4];
                    z[1] += z[3]; z[0] -= z[3];
                    return Math.floorMod(z[0], 3) + 3 * Math.floorMod(z[1], 3) + 9 * Math.floorMod(z[2], 3);
                }
            };
        }
    }

    private static boolean isPowerOfTwo(int n) {
        return n > 0 && (n & (n - 1)) == 0;
    }
}
