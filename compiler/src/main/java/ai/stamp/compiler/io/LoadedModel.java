package ai.stamp.compiler.io;

import ai.onnx.proto.OnnxMl;
import java.nio.file.Path;

/**
 * A model as read from disk. External-data tensors keep their (relative) locations, which resolve
 * against {@link #directory()}; their bytes stay on disk until written out.
 */
public record LoadedModel(OnnxMl.ModelProto proto, Path path) {
    public Path directory() {
        Path parent = path.toAbsolutePath().getParent();
        return parent == null ? Path.of(".") : parent;
    }

    public LoadedModel withProto(OnnxMl.ModelProto newProto) { return new LoadedModel(newProto, path); }
}
