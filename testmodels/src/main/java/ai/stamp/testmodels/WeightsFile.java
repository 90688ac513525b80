package ai.stamp.testmodels;

import ai.onnx.proto.OnnxMl;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Moves a model's float initializers into an external data file, as exporters write large models; test helper. */
public final class WeightsFile {
    /** The data file's name, beside the model. */
    public static final String NAME = "weights.bin";

    private WeightsFile() {}

    /**
     * {@code model} with every float initializer holding {@code float_data} moved to {@code folder/weights.bin} (one after
     * the other, little-endian), each pointing there with {@code location}/{@code offset}/{@code length}.
     */
    public static OnnxMl.ModelProto externalize(OnnxMl.ModelProto model, Path folder) throws IOException {
        OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder();
        try (OutputStream out = Files.newOutputStream(folder.resolve(NAME))) {
            long offset = 0;
            for (int i = 0; i < g.getInitializerCount(); i++) {
                OnnxMl.TensorProto t = g.getInitializer(i);
                if (t.getDataType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE || t.getFloatDataCount() == 0) continue;
                ByteBuffer b = ByteBuffer.allocate(4 * t.getFloatDataCount()).order(ByteOrder.LITTLE_ENDIAN);
                t.getFloatDataList().forEach(b::putFloat);
                out.write(b.array());
                g.setInitializer(i, t.toBuilder().clearFloatData().setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", NAME)).addExternalData(entry("offset", Long.toString(offset)))
                        .addExternalData(entry("length", Integer.toString(b.capacity()))));
                offset += b.capacity();
            }
        }
        return model.toBuilder().setGraph(g).build();
    }

    private static OnnxMl.StringStringEntryProto entry(String k, String v) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }
}
