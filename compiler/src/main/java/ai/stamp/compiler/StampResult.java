package ai.stamp.compiler;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.compiler.io.QuietDelete;
import java.nio.file.Path;
import java.util.List;

/**
 * The rewritten model and the report of what was done to it. {@code scratch}: data files the model's new external
 * tensors point into (weights quantized from external data, see {@link ExternalWeights}); {@link ModelFile#write(StampResult,
 * Path, Path)} copies them into the output and deletes them, else call {@link #deleteScratch()} when done.
 *
 * @param model   the rewritten model
 * @param report  what was done to it
 * @param scratch the scratch data files its new external tensors point into (empty without external data)
 */
public record StampResult(OnnxMl.ModelProto model, StampReport report, List<Path> scratch) {
    /**
     * Copies {@code scratch}.
     *
     * @param model   the rewritten model
     * @param report  what was done to it
     * @param scratch the scratch data files
     */
    public StampResult {
        scratch = List.copyOf(scratch);
    }

    /**
     * A result without scratch data files.
     *
     * @param model  the rewritten model
     * @param report what was done to it
     */
    public StampResult(OnnxMl.ModelProto model, StampReport report) {
        this(model, report, List.of());
    }

    /** Deletes the scratch data files (the model's tensors that point there become unreadable). */
    public void deleteScratch() {
        for (Path p : scratch) QuietDelete.deleteQuietly(p);
    }
}
