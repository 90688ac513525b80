package ai.stamp.ops;

/** IEEE half-precision conversions (Java 17 has no Float.floatToFloat16), as ONNX Cast rounds: to nearest even. */
public final class Float16 {
    private Float16() {}

    /** The half bits nearest to {@code f} (ties to even; overflow to infinity, NaN stays NaN). */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exponent = (bits >>> 23) & 0xff;
        int mantissa = bits & 0x7fffff;
        if (exponent == 0xff) return (short) (sign | 0x7c00 | (mantissa != 0 ? 0x200 | (mantissa >>> 13) : 0));
        int e = exponent - 127 + 15;
        if (e >= 0x1f) return (short) (sign | 0x7c00);
        if (e <= 0) {
            if (e < -10) return (short) sign;
            int m = mantissa | 0x800000;
            int shift = 14 - e;
            int h = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (h & 1) != 0)) h++;
            return (short) (sign | h);
        }
        int h = (e << 10) | (mantissa >>> 13);
        int rem = mantissa & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++; // a carry into the exponent is the correct rounding
        return (short) (sign | h);
    }

    /** The float value of half bits (exact: every half is a float). */
    public static float toFloat(short half) {
        int bits = half & 0xffff;
        int sign = (bits & 0x8000) << 16, exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
        if (exponent == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        if (exponent != 0) return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
        float subnormal = mantissa * 0x1p-24f;
        return sign == 0 ? subnormal : -subnormal;
    }

    /** {@code f} rounded to half precision. */
    public static float round(float f) { return toFloat(fromFloat(f)); }
}
