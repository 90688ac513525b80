package ai.stamp.compiler.io;

import ai.onnx.proto.OnnxMl;
import java.nio.file.Path;

/**
 * A model as read from disk. External-data tensors keep their (relative) locations, which resolve
 * against {@link #directory()}; their bytes stay on disk until written out.
 *
 * @param proto the model
 * @param path  the file it was read from
 */
public record LoadedModel(OnnxMl.ModelProto proto, Path path) {
    /** {@return the folder of the model file, against which external data locations resolve} */
    public Path directory() {
        Path parent = path.toAbsolutePath().getParent();
        return parent == null ? Path.of(".") : parent;
    }

    /**
     * {@return the same file with another model in it}
     *
     * @param newProto the model
     */
    public LoadedModel withProto(OnnxMl.ModelProto newProto) { return new LoadedModel(newProto, path); }
}
