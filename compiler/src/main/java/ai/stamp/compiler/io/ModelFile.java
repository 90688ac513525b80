package ai.stamp.compiler.io;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.ir.Tensors;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.function.UnaryOperator;

/**
 * Reads and writes ModelProto files. Reading never modifies the input; writing goes to a temporary file
 * in the destination folder that is renamed into place, so an interrupted run leaves no half model.
 * Tensors stored as external data are copied, range by range, into one data file beside the output
 * ({@code OUT.onnx.data}) with their locations rewritten; their bytes are never loaded into the heap. The model and
 * its data file get the permissions of any new file under the user's umask (see {@link TempFiles}).
 */
public final class ModelFile {
    private ModelFile() {}

    /**
     * Reads and checks an ONNX model; external data stays on disk (it is checked to exist).
     *
     * @param path the .onnx file
     * @return the model and where it was read from
     * @throws StampException INPUT_MISSING, NOT_ONNX (with what is wrong) or EXTERNAL_DATA_MISSING
     */
    public static LoadedModel read(Path path) {
        if (!Files.exists(path)) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "input model " + path + " does not exist");
        }
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "input model " + path + " is not a readable file");
        }
        checkNotLfsPointer(path);
        OnnxMl.ModelProto proto;
        try (InputStream in = Files.newInputStream(path)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            coded.setRecursionLimit(1000);
            proto = OnnxMl.ModelProto.parseFrom(coded);
        } catch (InvalidProtocolBufferException e) {
            throw new StampException(StampException.Kind.NOT_ONNX, path + " is not a valid ONNX model: the protobuf is "
                    + (e.getMessage() != null && e.getMessage().contains("truncated") ? "truncated (incomplete download or copy?)" : "corrupt")
                    + " (" + String.valueOf(e.getMessage()).lines().findFirst().orElse("").strip() + "); re-export or re-download it", e);
        } catch (IOException e) {
            throw new StampException(StampException.Kind.INPUT_MISSING, "cannot read " + path + ": " + e.getMessage(), e);
        }
        if (proto.getIrVersion() <= 0 || !proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
            throw new StampException(StampException.Kind.NOT_ONNX, path + " is not an ONNX model (it parses, but has no ir_version or no graph nodes); check that it is an exported .onnx file");
        }
        checkInitializers(proto.getGraph(), path);
        LoadedModel model = new LoadedModel(proto, path);
        checkExternalData(model);
        return model;
    }

    /** What a Git LFS pointer file (left in place of a model by a clone without git-lfs) starts with. */
    static final String LFS_POINTER_START = "version https://git-lfs.github.com/spec/v1";

    /**
     * A Git LFS pointer is a small text file ({@code version https://git-lfs.github.com/spec/v1}, {@code oid sha256:...},
     * {@code size N}) that a clone without git-lfs leaves in place of the model; parsing it as protobuf would call it corrupt.
     */
    private static void checkNotLfsPointer(Path path) {
        byte[] head = new byte[LFS_POINTER_START.length()];
        int n = 0;
        try (InputStream in = Files.newInputStream(path)) {
            while (n < head.length) {
                int r = in.read(head, n, head.length - n);
                if (r < 0) break;
                n += r;
            }
        } catch (IOException e) {
            return; // the full read below reports it
        }
        if (n == head.length && new String(head, java.nio.charset.StandardCharsets.US_ASCII).equals(LFS_POINTER_START)) {
            String size = "";
            try {
                size = Files.readAllLines(path, java.nio.charset.StandardCharsets.UTF_8).stream().filter(l -> l.startsWith("size "))
                        .map(l -> " of " + l.substring(5).strip() + " bytes").findFirst().orElse("");
            } catch (IOException | java.io.UncheckedIOException ignored) {
                // the size is a nicety
            }
            throw new StampException(StampException.Kind.NOT_ONNX, path + " is a Git LFS pointer file, not the model: the repository"
                    + " was cloned without git-lfs, which leaves this small text file in place of the real model" + size
                    + "; fetch it with 'git lfs install && git lfs pull' in the clone (or download the file itself)");
        }
    }

    /**
     * Every initializer of the main graph must hold as many values as its dims say (negative dims, an element count
     * that overflows, or raw/typed data of another length make the model invalid; ONNX Runtime rejects such a tensor
     * sometimes only after a rewrite touched the graph).
     */
    static void checkInitializers(OnnxMl.GraphProto graph, Path path) {
        for (TensorProto t : graph.getInitializerList()) {
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) continue;
            long n = 1;
            boolean bad = false;
            for (long d : t.getDimsList()) {
                if (d < 0) { bad = true; break; }
                try {
                    n = Math.multiplyExact(n, d);
                } catch (ArithmeticException e) {
                    bad = true;
                    break;
                }
            }
            long have = -1;
            if (!bad) {
                int size = elementSize(t.getDataType());
                if (size > 0 && !t.getRawData().isEmpty()) {
                    bad = t.getRawData().size() != n * size;
                    have = t.getRawData().size() / size;
                } else if (t.getRawData().isEmpty()) {
                    have = typedCount(t);
                    bad = have >= 0 && have != n;
                }
            }
            if (bad) {
                throw new StampException(StampException.Kind.NOT_ONNX, path + " is not a valid ONNX model: initializer '" + t.getName()
                        + "' has dims " + t.getDimsList() + (have >= 0 ? " but holds " + have + " value(s)" : "")
                        + "; re-export the model (onnx.checker.check_model rejects it)");
            }
        }
    }

    private static int elementSize(int type) {
        return switch (TensorProto.DataType.forNumber(type) == null ? TensorProto.DataType.UNDEFINED : TensorProto.DataType.forNumber(type)) {
            case FLOAT, INT32, UINT32 -> 4;
            case DOUBLE, INT64, UINT64, COMPLEX64 -> 8;
            case INT8, UINT8, BOOL -> 1;
            case INT16, UINT16, FLOAT16, BFLOAT16 -> 2;
            default -> 0;
        };
    }

    /** Number of values in the typed field of a known type; -1 when the type is not checked. */
    private static long typedCount(TensorProto t) {
        return switch (TensorProto.DataType.forNumber(t.getDataType()) == null ? TensorProto.DataType.UNDEFINED : TensorProto.DataType.forNumber(t.getDataType())) {
            case FLOAT -> t.getFloatDataCount();
            case DOUBLE -> t.getDoubleDataCount();
            case INT64 -> t.getInt64DataCount();
            case INT32, INT8, UINT8, INT16, UINT16, BOOL, FLOAT16, BFLOAT16 -> t.getInt32DataCount();
            default -> -1;
        };
    }

    /**
     * Writes a compile result to {@code out} (as {@link #write(OnnxMl.ModelProto, Path, Path)}), copying the tensors it
     * keeps in scratch data files into {@code OUT.onnx.data} too, and deletes those scratch files afterwards (also when
     * the write fails).
     *
     * @param result          the compile result
     * @param sourceDirectory the input model's folder ({@link LoadedModel#directory()}), where its external data lives
     * @param out             the output file; replaced atomically if it exists
     * @throws StampException OUTPUT_NOT_WRITABLE, or EXTERNAL_DATA_MISSING when an external tensor cannot be read
     */
    public static void write(StampResult result, Path sourceDirectory, Path out) {
        try {
            write(result.model(), sourceDirectory, out);
        } finally {
            result.deleteScratch();
        }
    }

    /**
     * Writes {@code model} to {@code out}, copying external tensors that resolve against {@code sourceDirectory}.
     *
     * @param model           the model
     * @param sourceDirectory the folder its external data locations resolve against
     * @param out             the output file; replaced atomically if it exists
     * @throws StampException OUTPUT_NOT_WRITABLE, EXTERNAL_DATA_MISSING when an external tensor cannot be read, or
     *                        MODEL_DATA when even with its tensors in the data file the model passes protobuf's 2 GB
     */
    public static void write(OnnxMl.ModelProto model, Path sourceDirectory, Path out) {
        write(model, sourceDirectory, out, InlineSpill.LIMIT_BYTES);
    }

    /** As above; inline initializers go to the data file when the model's bytes pass {@code spillBytes} (tests lower it). */
    static void write(OnnxMl.ModelProto model, Path sourceDirectory, Path out, long spillBytes) {
        write(model, sourceDirectory, out, spillBytes, Integer.MAX_VALUE);
    }

    /** As above, refusing a model whose serialized form (its tensors spilled) would pass {@code maxModelBytes}. */
    static void write(OnnxMl.ModelProto model, Path sourceDirectory, Path out, long spillBytes, long maxModelBytes) {
        Path dir = out.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "cannot write " + out + ": folder " + dir
                    + " does not exist (or is a file); create it first or choose another OUT path");
        }
        String dataName = out.getFileName() + ".data";
        Path tmpModel = null;
        Path tmpData = null;
        try {
            tmpModel = TempFiles.createBeside(dir, "." + out.getFileName() + ".", ".tmp");
            TempFiles.deleteAtExit(tmpModel);
            OnnxMl.ModelProto toWrite = model;
            boolean spill = InlineSpill.serializedBytes(model) > spillBytes;
            if (ExternalTensors.any(model) || spill) {
                tmpData = TempFiles.createBeside(dir, "." + dataName + ".", ".tmp");
                TempFiles.deleteAtExit(tmpData);
                try (FileChannel data = FileChannel.open(tmpData, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    ExternalDataCopier copier = new ExternalDataCopier(sourceDirectory, data, dataName);
                    toWrite = ExternalTensors.rewrite(model, copier::copy);
                    // past protobuf's 2 GB limit a model cannot be serialized at all: its large inline tensors go to the data file too
                    if (spill) toWrite = toWrite.toBuilder().setGraph(InlineSpill.spill(toWrite.getGraph(), data, dataName)).build();
                }
            }
            long bytes = InlineSpill.serializedBytes(toWrite);
            if (bytes > maxModelBytes) {
                throw new StampException(StampException.Kind.MODEL_DATA, String.format(java.util.Locale.ROOT, "the rewritten model"
                        + " would be %.2f GB without its large tensors (%d nodes, %d functions), past protobuf's %.2f GB limit for one"
                        + " model file: leave layers out with --exclude, or split the model", bytes / 1e9,
                        toWrite.getGraph().getNodeCount(), toWrite.getFunctionsCount(), maxModelBytes / 1e9));
            }
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmpModel), 1 << 20)) {
                toWrite.writeTo(os);
            }
            if (tmpData != null) move(tmpData, dir.resolve(dataName));
            move(tmpModel, out);
            if (tmpData != null) TempFiles.forget(tmpData);
            TempFiles.forget(tmpModel);
        } catch (IOException e) {
            QuietDelete.deleteQuietly(tmpModel);
            QuietDelete.deleteQuietly(tmpData);
            throw new StampException(StampException.Kind.OUTPUT_NOT_WRITABLE, "cannot write " + out + ": " + e, e);
        } catch (RuntimeException e) {
            QuietDelete.deleteQuietly(tmpModel);
            QuietDelete.deleteQuietly(tmpData);
            throw e;
        }
    }

    private static void checkExternalData(LoadedModel model) {
        ExternalTensors.rewrite(model.proto(), tensor -> {
            String location = ExternalTensors.location(tensor);
            Path file = model.directory().resolve(location).normalize();
            if (!Files.isReadable(file)) {
                throw new StampException(StampException.Kind.EXTERNAL_DATA_MISSING, "tensor '" + tensor.getName()
                        + "' keeps its data in " + file + ", which is missing: put it beside the model");
            }
            return tensor;
        });
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Streams each external tensor's byte range into the output's data file. */
    private static final class ExternalDataCopier {
        private final Path sourceDirectory;
        private final FileChannel data;
        private final String dataName;

        ExternalDataCopier(Path sourceDirectory, FileChannel data, String dataName) {
            this.sourceDirectory = sourceDirectory;
            this.data = data;
            this.dataName = dataName;
        }

        TensorProto copy(TensorProto tensor) {
            Path file = sourceDirectory.resolve(ExternalTensors.location(tensor)).normalize();
            long offset = ExternalTensors.longEntry(tensor, "offset", 0);
            try (FileChannel src = FileChannel.open(file, StandardOpenOption.READ)) {
                long length = ExternalTensors.longEntry(tensor, "length", src.size() - offset);
                // 4 KiB alignment, as onnx's own external-data writer does, so readers may mmap
                long start = (data.position() + 4095) & ~4095L;
                data.position(start);
                long done = 0;
                while (done < length) {
                    long n = src.transferTo(offset + done, length - done, data);
                    if (n <= 0) throw new IOException("short read of " + file + " for tensor " + tensor.getName());
                    done += n;
                }
                return ExternalTensors.withLocation(tensor, dataName, start, length);
            } catch (NoSuchFileException e) {
                throw new StampException(StampException.Kind.EXTERNAL_DATA_MISSING, "external data file " + file + " of tensor '" + tensor.getName() + "' is missing", e);
            } catch (IOException e) {
                throw new StampException(StampException.Kind.EXTERNAL_DATA_MISSING, "cannot read external data " + file + " of tensor '" + tensor.getName() + "': " + e.getMessage(), e);
            }
        }
    }

    /** Visits every external tensor of a model (initializers and Constant/attribute tensors, subgraphs and functions included). */
    static final class ExternalTensors {
        private ExternalTensors() {}

        static boolean any(OnnxMl.ModelProto model) {
            boolean[] found = {false};
            rewrite(model, t -> { found[0] = true; return t; });
            return found[0];
        }

        static OnnxMl.ModelProto rewrite(OnnxMl.ModelProto model, UnaryOperator<TensorProto> fn) {
            OnnxMl.ModelProto.Builder b = model.toBuilder();
            b.setGraph(rewriteGraph(model.getGraph(), fn));
            for (int i = 0; i < b.getFunctionsCount(); i++) {
                OnnxMl.FunctionProto.Builder f = b.getFunctions(i).toBuilder();
                for (int n = 0; n < f.getNodeCount(); n++) f.setNode(n, rewriteNode(f.getNode(n), fn));
                b.setFunctions(i, f);
            }
            return b.build();
        }

        private static OnnxMl.GraphProto rewriteGraph(OnnxMl.GraphProto g, UnaryOperator<TensorProto> fn) {
            OnnxMl.GraphProto.Builder b = null;
            for (int i = 0; i < g.getInitializerCount(); i++) {
                TensorProto t = g.getInitializer(i);
                if (isExternal(t)) {
                    if (b == null) b = g.toBuilder();
                    b.setInitializer(i, fn.apply(t));
                }
            }
            for (int i = 0; i < g.getNodeCount(); i++) {
                OnnxMl.NodeProto n = g.getNode(i);
                OnnxMl.NodeProto rewritten = rewriteNode(n, fn);
                if (rewritten != n) {
                    if (b == null) b = g.toBuilder();
                    b.setNode(i, rewritten);
                }
            }
            return b == null ? g : b.build();
        }

        private static OnnxMl.NodeProto rewriteNode(OnnxMl.NodeProto n, UnaryOperator<TensorProto> fn) {
            OnnxMl.NodeProto.Builder b = null;
            for (int a = 0; a < n.getAttributeCount(); a++) {
                OnnxMl.AttributeProto attr = n.getAttribute(a);
                OnnxMl.AttributeProto.Builder ab = null;
                if (attr.hasT() && isExternal(attr.getT())) {
                    ab = attr.toBuilder().setT(fn.apply(attr.getT()));
                }
                if (attr.hasG()) {
                    OnnxMl.GraphProto g = rewriteGraph(attr.getG(), fn);
                    if (g != attr.getG()) ab = (ab == null ? attr.toBuilder() : ab).setG(g);
                }
                for (int k = 0; k < attr.getGraphsCount(); k++) {
                    OnnxMl.GraphProto g = rewriteGraph(attr.getGraphs(k), fn);
                    if (g != attr.getGraphs(k)) ab = (ab == null ? attr.toBuilder() : ab).setGraphs(k, g);
                }
                if (ab != null) {
                    if (b == null) b = n.toBuilder();
                    b.setAttribute(a, ab);
                }
            }
            return b == null ? n : b.build();
        }

        static boolean isExternal(TensorProto t) {
            return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
        }

        static String location(TensorProto t) {
            for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
                if (e.getKey().equals("location")) return e.getValue();
            }
            throw new StampException(StampException.Kind.NOT_ONNX, "tensor '" + t.getName() + "' is marked external but names no location");
        }

        static long longEntry(TensorProto t, String key, long fallback) {
            for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
                if (e.getKey().equals(key)) {
                    try {
                        return Long.parseLong(e.getValue());
                    } catch (NumberFormatException ex) {
                        throw new StampException(StampException.Kind.NOT_ONNX, "tensor '" + t.getName() + "' has a non-numeric external " + key + ": " + e.getValue());
                    }
                }
            }
            return fallback;
        }

        static TensorProto withLocation(TensorProto t, String location, long offset, long length) {
            return t.toBuilder().clearExternalData()
                    .addExternalData(entry("location", location))
                    .addExternalData(entry("offset", Long.toString(offset)))
                    .addExternalData(entry("length", Long.toString(length)))
                    .build();
        }

        private static OnnxMl.StringStringEntryProto entry(String k, String v) {
            return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
        }
    }
}
