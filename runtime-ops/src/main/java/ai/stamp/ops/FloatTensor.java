package ai.stamp.ops;

import java.util.Arrays;

/** A dense row-major float tensor: the currency of the Java reference kernels. */
public record FloatTensor(float[] data, long[] shape) {
    public FloatTensor {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dim in " + Arrays.toString(shape));
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, data has " + data.length);
        }
    }

    public static FloatTensor zeros(long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return new FloatTensor(new float[Math.toIntExact(n)], shape.clone());
    }

    public int rank() { return shape.length; }

    /** Size of axis {@code axis}; negative axes count from the end. */
    public long dim(int axis) { return shape[axis < 0 ? shape.length + axis : axis]; }

    /** Product of all dims before the last two: the independent (batch, head) slices. */
    public long leadingCount() {
        long m = 1;
        for (int i = 0; i < shape.length - 2; i++) m *= shape[i];
        return m;
    }

    @Override public String toString() { return "FloatTensor" + Arrays.toString(shape); }
}
