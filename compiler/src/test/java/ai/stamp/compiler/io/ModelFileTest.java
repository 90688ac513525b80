package ai.stamp.compiler.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampResult;
import ai.stamp.testmodels.TinyGraphs;
import ai.stamp.testmodels.WeightsFile;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading and writing models, external data included. */
class ModelFileTest {
    @TempDir Path dir;

    /** Moves every float initializer of {@code model} into {@code weights.bin} beside {@code path}. */

    @Test
    void externalDataIsCopiedBesideTheOutputAndTheInputIsUntouched() throws Exception {
        Path in = dir.resolve("in");
        Path out = dir.resolve("out");
        Files.createDirectories(in);
        Files.createDirectories(out);
        OnnxMl.ModelProto original = TinyGraphs.encoderBlock(11, 8, 9);
        Files.write(in.resolve("model.onnx"), WeightsFile.externalize(original, in).toByteArray());
        byte[] modelBytes = Files.readAllBytes(in.resolve("model.onnx"));
        byte[] dataBytes = Files.readAllBytes(in.resolve("weights.bin"));

        LoadedModel loaded = ModelFile.read(in.resolve("model.onnx"));
        StampResult r = StampCompiler.compile(loaded.proto(), StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build());
        ModelFile.write(r.model(), loaded.directory(), out.resolve("model.stamp.onnx"));

        assertArrayEquals(modelBytes, Files.readAllBytes(in.resolve("model.onnx")));
        assertArrayEquals(dataBytes, Files.readAllBytes(in.resolve("weights.bin")));
        assertTrue(Files.exists(out.resolve("model.stamp.onnx.data")));
        try (var files = Files.list(out)) {
            assertEquals(List.of("model.stamp.onnx", "model.stamp.onnx.data"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // ORT resolves the new locations relative to the output model
        OnnxMl.ModelProto written = ModelFile.read(out.resolve("model.stamp.onnx")).proto();
        assertTrue(written.getGraph().getInitializerList().stream().allMatch(t -> t.getDataLocation() != OnnxMl.TensorProto.DataLocation.EXTERNAL
                || t.getExternalData(0).getValue().equals("model.stamp.onnx.data")));
        Map<String, Object> feed = Map.of("x", Ort.random(1, 1, 12, 8));
        float[] expected = Ort.run(original, feed).get("hidden");
        try (ai.onnxruntime.OrtSession s = ai.onnxruntime.OrtEnvironment.getEnvironment().createSession(out.resolve("model.stamp.onnx").toString())) {
            Ort.Tensor x = (Ort.Tensor) feed.get("x");
            try (var t = ai.onnxruntime.OnnxTensor.createTensor(ai.onnxruntime.OrtEnvironment.getEnvironment(), java.nio.FloatBuffer.wrap(x.data()), x.shape());
                 var res = s.run(Map.of("x", t))) {
                java.nio.FloatBuffer fb = ((ai.onnxruntime.OnnxTensor) res.get("hidden").get()).getFloatBuffer();
                float[] actual = new float[fb.remaining()];
                fb.get(actual);
                assertTrue(Ort.maxRelativeError(expected, actual) < 1e-5);
            }
        }
    }

    @Test
    void missingExternalDataIsReportedWithTheFile() throws Exception {
        Files.write(dir.resolve("model.onnx"), WeightsFile.externalize(TinyGraphs.encoderBlock(11, 8, 9), dir).toByteArray());
        Files.delete(dir.resolve("weights.bin"));
        StampException e = assertThrows(StampException.class, () -> ModelFile.read(dir.resolve("model.onnx")));
        assertEquals(StampException.Kind.EXTERNAL_DATA_MISSING, e.kind());
        assertTrue(e.getMessage().contains("weights.bin"), e.getMessage());
    }

    @Test
    void notAnOnnxFileAndMissingFileAreTold() throws Exception {
        Files.writeString(dir.resolve("notes.onnx"), "this is not a model");
        assertEquals(StampException.Kind.NOT_ONNX, assertThrows(StampException.class, () -> ModelFile.read(dir.resolve("notes.onnx"))).kind());
        Files.write(dir.resolve("empty.onnx"), OnnxMl.ModelProto.newBuilder().setIrVersion(7).build().toByteArray());
        assertEquals(StampException.Kind.NOT_ONNX, assertThrows(StampException.class, () -> ModelFile.read(dir.resolve("empty.onnx"))).kind());
        assertEquals(StampException.Kind.INPUT_MISSING, assertThrows(StampException.class, () -> ModelFile.read(dir.resolve("nope.onnx"))).kind());
    }

    @Test
    void writeReplacesAtomicallyAndLeavesNoTemporaryFiles() throws Exception {
        Path out = dir.resolve("m.onnx");
        Files.writeString(out, "old");
        OnnxMl.ModelProto model = TinyGraphs.encoderBlock(11, 8, 1).toBuilder().setDocString("x".repeat(10)).build();
        ModelFile.write(model, dir, out);
        assertEquals(model, OnnxMl.ModelProto.parseFrom(Files.readAllBytes(out)));
        try (var files = Files.list(dir)) {
            assertEquals(List.of("m.onnx"), files.map(p -> p.getFileName().toString()).toList());
        }
        assertEquals(ByteString.copyFrom(Files.readAllBytes(out)), model.toByteString());
    }

    @Test
    void aGitLfsPointerIsToldForWhatItIsWithTheCommandThatFetchesTheModel() throws Exception {
        Path pointer = dir.resolve("model.onnx");
        Files.writeString(pointer, "version https://git-lfs.github.com/spec/v1\n"
                + "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 90387606\n");
        StampException e = assertThrows(StampException.class, () -> ModelFile.read(pointer));
        assertEquals(StampException.Kind.NOT_ONNX, e.kind());
        assertTrue(e.getMessage().contains("Git LFS pointer") && e.getMessage().contains("git lfs install && git lfs pull")
                && e.getMessage().contains("90387606 bytes") && !e.getMessage().contains("corrupt"), e.getMessage());
    }

    /** A normal file's mode under the JVM's umask, or null where the file system has no POSIX permissions. */
    static java.util.Set<java.nio.file.attribute.PosixFilePermission> normalFileMode(Path folder) throws IOException {
        if (!folder.getFileSystem().supportedFileAttributeViews().contains("posix")) return null;
        Path probe = Files.createFile(folder.resolve("probe-" + System.nanoTime()));
        try {
            return Files.getPosixFilePermissions(probe);
        } finally {
            Files.delete(probe);
        }
    }

    @Test
    void writtenModelsAndTheirDataFilesGetTheModeOfANormalFileUnderTheUmask() throws Exception {
        java.util.Set<java.nio.file.attribute.PosixFilePermission> normal = normalFileMode(dir);
        org.junit.jupiter.api.Assumptions.assumeTrue(normal != null, "no POSIX permissions here");
        Path in = dir.resolve("in");
        Path out = dir.resolve("out");
        Files.createDirectories(in);
        Files.createDirectories(out);
        Files.write(in.resolve("model.onnx"), WeightsFile.externalize(TinyGraphs.encoderBlock(11, 8, 9), in).toByteArray());
        ModelFile.write(ModelFile.read(in.resolve("model.onnx")).proto(), in, out.resolve("m.onnx"));
        assertEquals(normal, Files.getPosixFilePermissions(out.resolve("m.onnx")));
        assertEquals(normal, Files.getPosixFilePermissions(out.resolve("m.onnx.data")));
        // replacing an existing output: the same
        ModelFile.write(TinyGraphs.encoderBlock(11, 8, 1), dir, out.resolve("m.onnx"));
        assertEquals(normal, Files.getPosixFilePermissions(out.resolve("m.onnx")));
    }

    @Test
    void compilingTheLoadedModelQuantizesItsExternalWeightsAndWritingMovesThemBesideTheOutput() throws Exception {
        Path in = dir.resolve("in");
        Path out = dir.resolve("out");
        Files.createDirectories(in);
        Files.createDirectories(out);
        OnnxMl.ModelProto original = TinyGraphs.encoderBlock(11, 8, 9);
        Files.write(in.resolve("model.onnx"), WeightsFile.externalize(original, in).toByteArray());
        LoadedModel loaded = ModelFile.read(in.resolve("model.onnx"));
        StampConfig config = StampConfig.defaults();

        // the proto alone cannot reach the weights' bytes: the layers are rewritten, their external weights stay float
        StampResult fromProto = StampCompiler.compile(loaded.proto(), config);
        assertTrue(fromProto.report().summary().contains("weight(s) left float"), fromProto.report().summary());

        StampResult r = StampCompiler.compile(loaded, config);
        String summary = r.report().summary();
        assertEquals(fromProto.report().rewritten().size(), r.report().rewritten().size());
        assertTrue(summary.startsWith(r.report().rewritten().size() + " linear layer(s) rewritten"), summary);
        assertFalse(summary.contains("left float"), summary);
        assertFalse(r.scratch().isEmpty(), "the int8 weights wait in a scratch file until written");
        ModelFile.write(r, loaded.directory(), out.resolve("model.stamp.onnx"));
        assertTrue(r.scratch().stream().noneMatch(Files::exists), "writing the result deletes its scratch files");

        OnnxMl.ModelProto written = ModelFile.read(out.resolve("model.stamp.onnx")).proto();
        long int8Weights = written.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataType() == OnnxMl.TensorProto.DataType.INT8_VALUE && t.getDimsCount() == 2).count();
        assertEquals(r.report().rewritten().size(), int8Weights);
        assertTrue(written.getGraph().getInitializerList().stream().allMatch(t -> t.getDataLocation() != OnnxMl.TensorProto.DataLocation.EXTERNAL
                || t.getExternalData(0).getValue().equals("model.stamp.onnx.data")));
        Map<String, Object> feed = Map.of("x", Ort.random(1, 1, 12, 8));
        float[] expected = Ort.run(original, feed).get("hidden");
        float[] actual = runFromFile(out.resolve("model.stamp.onnx"), (Ort.Tensor) feed.get("x"));
        double sqnr = Ort.sqnrDb(expected, actual);
        assertTrue(sqnr > 15, "quantized (int8 weights, 8/4-bit tokens), yet the same function: SQNR " + sqnr + " dB");
    }

    /** Runs a model file with ORT (which resolves its external data against the file's folder) on input x. */
    private static float[] runFromFile(Path model, Ort.Tensor x) throws Exception {
        var env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        try (ai.onnxruntime.OrtSession s = env.createSession(model.toString());
             var t = ai.onnxruntime.OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(x.data()), x.shape());
             var res = s.run(Map.of("x", t))) {
            java.nio.FloatBuffer fb = ((ai.onnxruntime.OnnxTensor) res.get("hidden").get()).getFloatBuffer();
            float[] actual = new float[fb.remaining()];
            fb.get(actual);
            return actual;
        }
    }

    /** A model past protobuf's 2 GB limit cannot be serialized: its large inline tensors go to OUT.onnx.data (limit lowered here). */
    @Test
    void aModelPastTheSizeLimitIsWrittenWithExternalDataAndRunsTheSame() throws Exception {
        OnnxMl.ModelProto original = TinyGraphs.encoderBlock(11, 16, 9);
        Path out = dir.resolve("big.onnx");
        ModelFile.write(original, dir, out, 1000);
        assertTrue(Files.size(out.resolveSibling("big.onnx.data")) > 0);
        OnnxMl.ModelProto written = ModelFile.read(out).proto();
        assertTrue(written.getGraph().getInitializerList().stream().anyMatch(t -> t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL));
        assertTrue(written.getGraph().getInitializerList().stream().allMatch(t -> t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL
                || t.getSerializedSize() < 1100), "only small tensors stay inline");
        Map<String, Object> feed = Map.of("x", Ort.random(1, 1, 12, 16));
        float[] expected = Ort.run(original, feed).get("hidden");
        assertTrue(Ort.maxRelativeError(expected, runFromFile(out, (Ort.Tensor) feed.get("x"))) < 1e-6);
        // under the limit nothing moves
        Path small = dir.resolve("small.onnx");
        ModelFile.write(original, dir, small);
        assertFalse(Files.exists(dir.resolve("small.onnx.data")));
    }

    /** A model whose graph alone passes protobuf's limit cannot be written at all: a model-data error, and nothing left behind. */
    @Test
    void aModelTooLargeEvenWithExternalDataIsAModelDataErrorAndLeavesNoFile() throws Exception {
        OnnxMl.ModelProto original = TinyGraphs.encoderBlock(11, 16, 9);
        Path out = dir.resolve("huge.onnx");
        StampException e = assertThrows(StampException.class, () -> ModelFile.write(original, dir, out, 1000, 4000));
        assertEquals(StampException.Kind.MODEL_DATA, e.kind());
        assertTrue(e.getMessage().contains("without its large tensors") && e.getMessage().contains("past protobuf's"), e.getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.map(p -> p.getFileName().toString()).toList(), "no output, data file or temporary file");
        }
    }
}
