package ai.stamp.compiler.io;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * Moves a model's large inline initializers (main graph and subgraphs) into its external data file when the model
 * would not fit protobuf's 2 GB message limit (a rewrite that adds weights can push a model past it): the same
 * numbers, 4 KiB aligned, with {@code location}/{@code offset}/{@code length} entries as onnx's own writer makes them.
 */
final class InlineSpill {
    /** Model bytes ({@link #serializedBytes}) above which a model is written with external data (protobuf's limit is 2 GiB). */
    static final long LIMIT_BYTES = 1_800_000_000L;
    /** Tensors up to this many bytes stay inline (shapes, scales, small constants). */
    private static final int KEEP_INLINE_BYTES = 1024;

    private InlineSpill() {}

    /**
     * An upper bound of the model's serialized bytes, as a long (protobuf's own size is an int that wraps past 2 GB):
     * the sum of the graph's and the functions' elements, each with its tag and length prefix.
     */
    static long serializedBytes(OnnxMl.ModelProto m) {
        OnnxMl.GraphProto g = m.getGraph();
        long sum = 1 << 16; // the model's own fields: versions, opset imports, metadata, the graph's name and doc
        for (OnnxMl.NodeProto n : g.getNodeList()) sum += n.getSerializedSize() + 10;
        for (TensorProto t : g.getInitializerList()) sum += t.getSerializedSize() + 10;
        for (OnnxMl.SparseTensorProto t : g.getSparseInitializerList()) sum += t.getSerializedSize() + 10;
        for (OnnxMl.ValueInfoProto v : g.getValueInfoList()) sum += v.getSerializedSize() + 10;
        for (OnnxMl.ValueInfoProto v : g.getInputList()) sum += v.getSerializedSize() + 10;
        for (OnnxMl.ValueInfoProto v : g.getOutputList()) sum += v.getSerializedSize() + 10;
        for (OnnxMl.FunctionProto f : m.getFunctionsList()) sum += f.getSerializedSize() + 10;
        return sum;
    }

    /** {@code g} with every inline initializer over 1 KiB (of a fixed-size numeric type) appended to {@code data}. */
    static OnnxMl.GraphProto spill(OnnxMl.GraphProto g, FileChannel data, String location) {
        OnnxMl.GraphProto.Builder b = g.toBuilder();
        for (int i = 0; i < b.getInitializerCount(); i++) {
            TensorProto t = b.getInitializer(i);
            byte[] raw = t.getDataLocation() == TensorProto.DataLocation.EXTERNAL ? null : rawBytes(t);
            if (raw != null && raw.length > KEEP_INLINE_BYTES) b.setInitializer(i, append(t, raw, data, location));
        }
        for (int n = 0; n < b.getNodeCount(); n++) {
            OnnxMl.NodeProto.Builder nb = null;
            OnnxMl.NodeProto node = b.getNode(n);
            for (int a = 0; a < node.getAttributeCount(); a++) {
                OnnxMl.AttributeProto attr = node.getAttribute(a);
                if (!attr.hasG() && attr.getGraphsCount() == 0) continue;
                OnnxMl.AttributeProto.Builder ab = attr.toBuilder();
                if (attr.hasG()) ab.setG(spill(attr.getG(), data, location));
                for (int k = 0; k < attr.getGraphsCount(); k++) ab.setGraphs(k, spill(attr.getGraphs(k), data, location));
                if (nb == null) nb = node.toBuilder();
                nb.setAttribute(a, ab);
            }
            if (nb != null) b.setNode(n, nb);
        }
        return b.build();
    }

    private static TensorProto append(TensorProto t, byte[] raw, FileChannel data, String location) {
        try {
            long start = (data.position() + 4095) & ~4095L;
            data.position(start);
            ByteBuffer buf = ByteBuffer.wrap(raw);
            while (buf.hasRemaining()) data.write(buf);
            TensorProto.Builder out = t.toBuilder().clearRawData().clearFloatData().clearDoubleData().clearInt32Data().clearInt64Data()
                    .setDataLocation(TensorProto.DataLocation.EXTERNAL).clearExternalData();
            out.addExternalData(entry("location", location)).addExternalData(entry("offset", Long.toString(start)))
                    .addExternalData(entry("length", Long.toString(raw.length)));
            return out.build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The tensor's little-endian bytes (raw_data, else its typed field), or null for a type kept inline (strings, int4). */
    static byte[] rawBytes(TensorProto t) {
        if (!t.getRawData().isEmpty()) return t.getRawData().toByteArray();
        ByteBuffer b;
        switch (TensorProto.DataType.forNumber(t.getDataType()) == null ? TensorProto.DataType.UNDEFINED : TensorProto.DataType.forNumber(t.getDataType())) {
            case FLOAT -> {
                b = ByteBuffer.allocate(4 * t.getFloatDataCount()).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : t.getFloatDataList()) b.putFloat(v);
            }
            case DOUBLE -> {
                b = ByteBuffer.allocate(8 * t.getDoubleDataCount()).order(ByteOrder.LITTLE_ENDIAN);
                for (double v : t.getDoubleDataList()) b.putDouble(v);
            }
            case INT64 -> {
                b = ByteBuffer.allocate(8 * t.getInt64DataCount()).order(ByteOrder.LITTLE_ENDIAN);
                for (long v : t.getInt64DataList()) b.putLong(v);
            }
            case INT32 -> {
                b = ByteBuffer.allocate(4 * t.getInt32DataCount()).order(ByteOrder.LITTLE_ENDIAN);
                for (int v : t.getInt32DataList()) b.putInt(v);
            }
            case INT8, UINT8, BOOL -> {
                b = ByteBuffer.allocate(t.getInt32DataCount());
                for (int v : t.getInt32DataList()) b.put((byte) v);
            }
            case INT16, UINT16, FLOAT16, BFLOAT16 -> {
                b = ByteBuffer.allocate(2 * t.getInt32DataCount()).order(ByteOrder.LITTLE_ENDIAN);
                for (int v : t.getInt32DataList()) b.putShort((short) v);
            }
            default -> { return null; }
        }
        return b.array();
    }

    private static OnnxMl.StringStringEntryProto entry(String k, String v) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }
}
