package ai.stamp.compiler.io;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Lets a compile read weights stored as external data and write the quantized results outside the heap.
 *
 * <p>External locations resolve against {@link #sourceDirectory()} (the input model's folder). New tensors made
 * from external weights (int8/int4 values) are appended to one scratch data file, created on first use in
 * {@code scratchDirectory}, and referenced by an EXTERNAL tensor whose location is the scratch file's absolute path;
 * {@link ModelFile#write(StampResult, Path, Path)} copies those ranges into {@code OUT.onnx.data} like any other
 * external tensor and then deletes the scratch file ({@link StampResult#deleteScratch()}). So the heap holds one
 * weight's int8 values (and a few MiB of read buffer) at a time, never the whole model's weights.
 */
public final class ExternalWeights {
    /** No external-data support: external weights are left as they are (the behaviour without a source folder). */
    public static final ExternalWeights NONE = new ExternalWeights(null, null);

    private final Path sourceDirectory;
    private final Path scratchDirectory;
    private Path scratch;
    private FileChannel channel;

    private ExternalWeights(Path sourceDirectory, Path scratchDirectory) {
        this.sourceDirectory = sourceDirectory;
        this.scratchDirectory = scratchDirectory;
    }

    /** External tensors resolve against {@code sourceDirectory}; the scratch file goes to {@code scratchDirectory}. */
    public static ExternalWeights of(Path sourceDirectory, Path scratchDirectory) {
        return new ExternalWeights(sourceDirectory.toAbsolutePath(), scratchDirectory.toAbsolutePath());
    }

    /** As {@link #of(Path, Path)} with the scratch file in {@code java.io.tmpdir}. */
    public static ExternalWeights of(Path sourceDirectory) {
        return of(sourceDirectory, Path.of(System.getProperty("java.io.tmpdir")));
    }

    public boolean enabled() { return sourceDirectory != null; }

    public Path sourceDirectory() { return sourceDirectory; }

    /** The file an external tensor's bytes live in. */
    public Path file(TensorProto t) {
        return sourceDirectory.resolve(ModelFile.ExternalTensors.location(t)).normalize();
    }

    public static long offset(TensorProto t) { return ModelFile.ExternalTensors.longEntry(t, "offset", 0); }

    public static long length(TensorProto t, long fallback) { return ModelFile.ExternalTensors.longEntry(t, "length", fallback); }

    /** Appends {@code bytes} to the scratch file; returns an EXTERNAL tensor (no name) of {@code type} and {@code dims} pointing there. */
    public TensorProto append(ByteBuffer bytes, int type, long... dims) {
        long start = begin();
        write(bytes);
        return end(start, type, dims);
    }

    /** Starts a new tensor in the scratch file (4 KiB aligned); returns its offset. */
    public long begin() {
        try {
            if (channel == null) {
                Files.createDirectories(scratchDirectory);
                scratch = Files.createTempFile(scratchDirectory, ".stamp-scratch-", ".data");
                TempFiles.deleteAtExit(scratch);
                channel = FileChannel.open(scratch, StandardOpenOption.WRITE, StandardOpenOption.READ);
            }
            long start = (channel.size() + 4095) & ~4095L;
            channel.position(start);
            return start;
        } catch (IOException e) {
            throw scratchFailure(e);
        }
    }

    /** Appends bytes to the tensor begun last. */
    public void write(ByteBuffer bytes) {
        try {
            while (bytes.hasRemaining()) channel.write(bytes);
        } catch (IOException e) {
            throw scratchFailure(e);
        }
    }

    /** The EXTERNAL tensor (no name) for the bytes written since {@code start}. */
    public TensorProto end(long start, int type, long... dims) {
        try {
            long length = channel.position() - start;
            TensorProto.Builder b = TensorProto.newBuilder().setDataType(type).setDataLocation(TensorProto.DataLocation.EXTERNAL);
            for (long d : dims) b.addDims(d);
            return ModelFile.ExternalTensors.withLocation(b.build(), scratch.toString(), start, length);
        } catch (IOException e) {
            throw scratchFailure(e);
        }
    }

    private StampException scratchFailure(IOException e) {
        return new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "cannot write the scratch data file in " + scratchDirectory + ": " + e.getMessage(), e);
    }

    /** Closes the scratch file (if any) and returns it, for the result to copy and delete; this object is done. */
    public List<Path> finish() {
        List<Path> files = new ArrayList<>();
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the copy will fail loudly if the data did not make it
            }
            files.add(scratch);
            channel = null;
        }
        return files;
    }

    /** Closes and deletes the scratch file (a failed compile). */
    public void discard() {
        for (Path p : finish()) QuietDelete.deleteQuietly(p);
    }

    public static boolean isExternal(OnnxMl.TensorProto t) { return ModelFile.ExternalTensors.isExternal(t); }
}
