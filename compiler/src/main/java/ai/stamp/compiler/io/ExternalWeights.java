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

    /**
     * External tensors resolve against {@code sourceDirectory}; the scratch file goes to {@code scratchDirectory}.
     *
     * @param sourceDirectory  the input model's folder
     * @param scratchDirectory where the scratch data file is created (e.g. the output's folder)
     * @return a new one, for one compile
     */
    public static ExternalWeights of(Path sourceDirectory, Path scratchDirectory) {
        return new ExternalWeights(sourceDirectory.toAbsolutePath(), scratchDirectory.toAbsolutePath());
    }

    /**
     * As {@link #of(Path, Path)} with the scratch file in {@code java.io.tmpdir}.
     *
     * @param sourceDirectory the input model's folder
     * @return a new one, for one compile
     */
    public static ExternalWeights of(Path sourceDirectory) {
        return of(sourceDirectory, Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** {@return whether external weights are read (false for {@link #NONE})} */
    public boolean enabled() { return sourceDirectory != null; }

    /** {@return the folder external locations resolve against; null for {@link #NONE}} */
    public Path sourceDirectory() { return sourceDirectory; }

    /**
     * {@return the file an external tensor's bytes live in}
     *
     * @param t an external tensor
     */
    public Path file(TensorProto t) {
        return sourceDirectory.resolve(ModelFile.ExternalTensors.location(t)).normalize();
    }

    /**
     * {@return the byte offset of an external tensor's data (0 when it names none)}
     *
     * @param t an external tensor
     */
    public static long offset(TensorProto t) { return ModelFile.ExternalTensors.longEntry(t, "offset", 0); }

    /**
     * {@return the byte length of an external tensor's data}
     *
     * @param t        an external tensor
     * @param fallback the length when it names none (the rest of the file)
     */
    public static long length(TensorProto t, long fallback) { return ModelFile.ExternalTensors.longEntry(t, "length", fallback); }

    /**
     * Appends {@code bytes} to the scratch file.
     *
     * @param bytes the tensor's data, little-endian
     * @param type  the ONNX data type
     * @param dims  the shape
     * @return an EXTERNAL tensor (no name) of {@code type} and {@code dims} pointing there
     */
    public TensorProto append(ByteBuffer bytes, int type, long... dims) {
        long start = begin();
        write(bytes);
        return end(start, type, dims);
    }

    /** {@return the offset of a new tensor begun in the scratch file (4 KiB aligned)} */
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

    /**
     * Appends bytes to the tensor begun last.
     *
     * @param bytes the next bytes of its data
     */
    public void write(ByteBuffer bytes) {
        try {
            while (bytes.hasRemaining()) channel.write(bytes);
        } catch (IOException e) {
            throw scratchFailure(e);
        }
    }

    /**
     * {@return the EXTERNAL tensor (no name) for the bytes written since {@code start}}
     *
     * @param start what {@link #begin()} returned
     * @param type  the ONNX data type
     * @param dims  the shape
     */
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

    /** {@return the scratch file (if any), closed, for the result to copy and delete; this object is done} */
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

    /**
     * {@return whether the tensor keeps its data in an external file}
     *
     * @param t a tensor
     */
    public static boolean isExternal(OnnxMl.TensorProto t) { return ModelFile.ExternalTensors.isExternal(t); }
}
