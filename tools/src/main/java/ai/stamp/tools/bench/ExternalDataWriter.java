package ai.stamp.tools.bench;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * Appends generated float32 tensors to one external-data file (a seeded SplitMix64 for random ones), so the heap
 * never holds a whole weight; each tensor is 4 KiB aligned and returned as a TensorProto that points into the file.
 */
final class ExternalDataWriter {
    private final FileChannel ch;
    private final String location;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
    private long state;

    ExternalDataWriter(FileChannel ch, String location, long seed) {
        this.ch = ch;
        this.location = location;
        this.state = seed;
    }

    TensorProto random(String name, long[] dims, float bound) throws IOException {
        return write(name, dims, () -> {
            long z = (state += 0x9E3779B97F4A7C15L);
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            return ((z >>> 40) * 0x1.0p-24f * 2f - 1f) * bound;
        });
    }

    TensorProto constant(String name, long[] dims, float value) throws IOException {
        return write(name, dims, () -> value);
    }

    interface FloatGen { float next(); }

    private TensorProto write(String name, long[] dims, FloatGen gen) throws IOException {
        long count = 1;
        for (long dim : dims) count *= dim;
        long start = (ch.position() + 4095) & ~4095L;
        ch.position(start);
        for (long i = 0; i < count; i++) {
            if (!buf.hasRemaining()) flush();
            buf.putFloat(gen.next());
        }
        flush();
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", location))
                .addExternalData(entry("offset", Long.toString(start)))
                .addExternalData(entry("length", Long.toString(count * 4)));
        for (long dim : dims) t.addDims(dim);
        return t.build();
    }

    private void flush() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) ch.write(buf);
        buf.clear();
    }

    private static OnnxMl.StringStringEntryProto entry(String k, String v) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }
}
