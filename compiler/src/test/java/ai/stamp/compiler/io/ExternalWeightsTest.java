package ai.stamp.compiler.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.testmodels.GraphBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading weights stored as external data and keeping new tensors in a scratch data file. */
class ExternalWeightsTest {
    private static final int INT8 = TensorProto.DataType.INT8_VALUE;

    @TempDir Path dir;

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static OnnxMl.StringStringEntryProto kv(String k, String v) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static TensorProto external(String name, OnnxMl.StringStringEntryProto... entries) {
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL).addAllExternalData(List.of(entries)).build();
    }

    private static String entry(TensorProto t, String key) {
        return t.getExternalDataList().stream().filter(e -> e.getKey().equals(key)).findFirst().orElseThrow().getValue();
    }

    /** The bytes {@code t}'s external data entries point at, in {@code file}. */
    private static byte[] bytesAt(Path file, TensorProto t) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long offset = Long.parseLong(entry(t, "offset"));
            int length = Math.toIntExact(Long.parseLong(entry(t, "length")));
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) throw new IOException("short file " + file);
            }
            return b.array();
        }
    }

    private static List<String> listing(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Whether this process holds an open descriptor on {@code file} (Linux /proc). */
    private static boolean openInThisProcess(Path file) throws IOException {
        Path real = file.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException | UnsupportedOperationException e) {
                    return false; // the listing's own descriptor is gone by now
                }
            });
        }
    }

    @Test
    void noneIsDisabled() {
        assertFalse(ExternalWeights.NONE.enabled());
        assertNull(ExternalWeights.NONE.sourceDirectory());
        assertEquals(List.of(), ExternalWeights.NONE.finish());
    }

    @Test
    void ofTakesTheSourceFolderAbsolute() {
        ExternalWeights w = ExternalWeights.of(Path.of("models", "vit"));
        assertTrue(w.enabled());
        assertEquals(Path.of("models", "vit").toAbsolutePath(), w.sourceDirectory());
        assertTrue(w.sourceDirectory().isAbsolute());
    }

    @Test
    void fileResolvesTheLocationAgainstTheSourceFolder() {
        Path src = dir.resolve("model");
        ExternalWeights w = ExternalWeights.of(src, dir.resolve("scratch"));
        assertEquals(src.resolve("weights.bin"), w.file(external("a", kv("location", "weights.bin"))));
        assertEquals(src.resolve("data").resolve("w.bin"), w.file(external("b", kv("offset", "0"), kv("location", "data/w.bin"))));
        assertEquals(src.resolve("w.bin"), w.file(external("c", kv("location", "data/../w.bin"))));

        StampException e = assertThrows(StampException.class, () -> w.file(external("nowhere", kv("offset", "0"))));
        assertEquals(StampException.Kind.NOT_ONNX, e.kind());
        assertEquals("tensor 'nowhere' is marked external but names no location", e.getMessage());
    }

    @Test
    void offsetAndLengthReadTheEntriesOrTheirDefaults() {
        TensorProto t = external("t", kv("location", "w.bin"), kv("offset", "8192"), kv("length", "96"));
        assertEquals(8192, ExternalWeights.offset(t));
        assertEquals(96, ExternalWeights.length(t, 7));
        TensorProto bare = external("bare", kv("location", "w.bin"));
        assertEquals(0, ExternalWeights.offset(bare));
        assertEquals(7, ExternalWeights.length(bare, 7));
        StampException e = assertThrows(StampException.class, () -> ExternalWeights.offset(external("bad", kv("offset", "0x10"))));
        assertEquals(StampException.Kind.NOT_ONNX, e.kind());
        assertEquals("tensor 'bad' has a non-numeric external offset: 0x10", e.getMessage());
        assertTrue(ExternalWeights.isExternal(t));
        assertFalse(ExternalWeights.isExternal(TensorProto.newBuilder().setName("inline").addFloatData(1f).build()));
    }

    @Test
    void appendedTensorsAre4KiBAlignedAndPointAtExactlyTheirBytes() throws IOException {
        Path scratchDir = dir.resolve("scratch");
        ExternalWeights w = ExternalWeights.of(dir, scratchDir);
        byte[] a = randomBytes(10, 1);
        byte[] b = randomBytes(5000, 2);
        byte[] c = randomBytes(3, 3);
        TensorProto ta = w.append(ByteBuffer.wrap(a), INT8, 2, 5);
        TensorProto tb = w.append(ByteBuffer.wrap(b), TensorProto.DataType.UINT8_VALUE, 1000, 5);
        TensorProto tc = w.append(ByteBuffer.wrap(c), INT8, 3);

        assertEquals(List.of(0L, 4096L, 12288L), Stream.of(ta, tb, tc).map(ExternalWeights::offset).toList());
        assertEquals(List.of(10L, 5000L, 3L), Stream.of(ta, tb, tc).map(t -> ExternalWeights.length(t, -1)).toList());
        assertEquals(INT8, ta.getDataType());
        assertEquals(List.of(2L, 5L), ta.getDimsList());
        assertEquals(TensorProto.DataType.UINT8_VALUE, tb.getDataType());
        assertEquals(List.of(1000L, 5L), tb.getDimsList());
        assertEquals(List.of(3L), tc.getDimsList());
        for (TensorProto t : List.of(ta, tb, tc)) {
            assertTrue(ExternalWeights.isExternal(t));
            assertEquals("", t.getName());
            assertTrue(t.getRawData().isEmpty());
            assertEquals(List.of("location", "offset", "length"), t.getExternalDataList().stream().map(OnnxMl.StringStringEntryProto::getKey).toList());
        }
        Path scratch = Path.of(entry(ta, "location"));
        assertTrue(scratch.isAbsolute());
        assertEquals(scratchDir, scratch.getParent());
        assertTrue(scratch.getFileName().toString().startsWith(".stamp-scratch-") && scratch.getFileName().toString().endsWith(".data"), scratch.toString());
        assertEquals(scratch.toString(), entry(tb, "location"));
        assertEquals(scratch.toString(), entry(tc, "location"));

        assertEquals(List.of(scratch), w.finish());
        assertArrayEquals(a, bytesAt(scratch, ta));
        assertArrayEquals(b, bytesAt(scratch, tb));
        assertArrayEquals(c, bytesAt(scratch, tc));
        assertEquals(12288 + 3, Files.size(scratch));
        assertEquals(List.of(scratch.getFileName().toString()), listing(scratchDir));
        // the gaps are zeros, so nothing of another tensor (or of the heap) leaks between them
        byte[] all = Files.readAllBytes(scratch);
        assertTrue(allZero(Arrays.copyOfRange(all, 10, 4096)) && allZero(Arrays.copyOfRange(all, 9096, 12288)));
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    @Test
    void beginWriteEndMakeOneTensorOfSeveralWrites() throws IOException {
        ExternalWeights w = ExternalWeights.of(dir, dir.resolve("scratch"));
        byte[] first = randomBytes(4000, 4);
        byte[] second = randomBytes(96, 5);
        byte[] third = randomBytes(20, 6);

        long start = w.begin();
        assertEquals(0, start);
        w.write(ByteBuffer.wrap(first));
        w.write(ByteBuffer.wrap(second));
        TensorProto full = w.end(start, INT8, 4096); // exactly one block: the next tensor needs no gap

        long next = w.begin();
        assertEquals(4096, next);
        ByteBuffer window = ByteBuffer.wrap(third, 5, 10); // only the remaining bytes are written
        w.write(window);
        assertFalse(window.hasRemaining());
        TensorProto part = w.end(next, INT8, 2, 5);

        long empty = w.begin();
        assertEquals(8192, empty);
        TensorProto none = w.end(empty, INT8, 0);

        assertEquals(0, ExternalWeights.offset(full));
        assertEquals(4096, ExternalWeights.length(full, -1));
        assertEquals(List.of(4096L), full.getDimsList());
        assertEquals(4096, ExternalWeights.offset(part));
        assertEquals(10, ExternalWeights.length(part, -1));
        assertEquals(8192, ExternalWeights.offset(none));
        assertEquals(0, ExternalWeights.length(none, -1));

        Path scratch = w.finish().get(0);
        byte[] expected = new byte[4096];
        System.arraycopy(first, 0, expected, 0, 4000);
        System.arraycopy(second, 0, expected, 4000, 96);
        assertArrayEquals(expected, bytesAt(scratch, full));
        assertArrayEquals(Arrays.copyOfRange(third, 5, 15), bytesAt(scratch, part));
        assertEquals(4096 + 10, Files.size(scratch));
    }

    @Test
    void finishClosesAndReturnsTheScratchFileOnce() throws IOException {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc to see open files");
        ExternalWeights w = ExternalWeights.of(dir, dir.resolve("scratch"));
        byte[] bytes = randomBytes(100, 7);
        TensorProto t = w.append(ByteBuffer.wrap(bytes), INT8, 100);
        Path scratch = Path.of(entry(t, "location"));
        assertTrue(openInThisProcess(scratch), "open while tensors are appended");

        assertEquals(List.of(scratch), w.finish());
        assertFalse(openInThisProcess(scratch), "closed by finish()");
        assertTrue(Files.exists(scratch), "kept for the result to copy");
        assertArrayEquals(bytes, bytesAt(scratch, t));
        assertEquals(List.of(), w.finish(), "finished already");
    }

    @Test
    void discardClosesAndDeletesTheScratchFile() throws IOException {
        Path scratchDir = dir.resolve("scratch");
        ExternalWeights w = ExternalWeights.of(dir, scratchDir);
        Path scratch = Path.of(entry(w.append(ByteBuffer.wrap(randomBytes(64, 8)), INT8, 64), "location"));
        assertTrue(Files.exists(scratch));
        w.discard();
        assertFalse(Files.exists(scratch));
        assertEquals(List.of(), listing(scratchDir));
        assertEquals(List.of(), w.finish());
    }

    @Test
    void nothingWrittenMakesNoScratchFileNorFolder() throws IOException {
        Path scratchDir = dir.resolve("not-yet");
        ExternalWeights w = ExternalWeights.of(dir, scratchDir);
        assertEquals(dir.resolve("w.bin"), w.file(external("a", kv("location", "w.bin")))); // reading needs no scratch
        assertEquals(List.of(), w.finish());
        w.discard();
        assertFalse(Files.exists(scratchDir));
        assertEquals(List.of(), listing(dir));
    }

    @Test
    void aScratchFolderThatCannotBeWrittenIsOutputNotWritable() throws IOException {
        Path blocker = Files.writeString(dir.resolve("blocker"), "a file, not a folder");
        // as root a read-only folder is still writable, so the folder is made impossible by a file in its way
        for (Path scratchDir : List.of(blocker, blocker.resolve("scratch"))) {
            ExternalWeights w = ExternalWeights.of(dir, scratchDir);
            StampException e = assertThrows(StampException.class, () -> w.append(ByteBuffer.wrap(new byte[] {1, 2, 3}), INT8, 3));
            assertEquals(StampException.Kind.OUTPUT_NOT_WRITABLE, e.kind());
            assertTrue(e.getMessage().startsWith("cannot write the scratch data file in " + scratchDir + ": "), e.getMessage());
            assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
            assertTrue(e.getCause() instanceof IOException, String.valueOf(e.getCause()));
            StampException begin = assertThrows(StampException.class, w::begin);
            assertEquals(StampException.Kind.OUTPUT_NOT_WRITABLE, begin.kind());
            assertEquals(List.of(), w.finish());
        }
        assertEquals("a file, not a folder", Files.readString(blocker));
        assertEquals(List.of("blocker"), listing(dir));
    }

    /** Moves every float initializer of {@code model} into {@code weights.bin} in {@code folder}; returns the model and each tensor's bytes. */
    private static OnnxMl.ModelProto externalize(OnnxMl.ModelProto model, Path folder, Map<String, byte[]> bytes) throws IOException {
        OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder();
        try (var out = Files.newOutputStream(folder.resolve("weights.bin"))) {
            long offset = 0;
            for (int i = 0; i < g.getInitializerCount(); i++) {
                TensorProto t = g.getInitializer(i);
                if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) continue;
                ByteBuffer b = ByteBuffer.allocate(4 * t.getFloatDataCount()).order(ByteOrder.LITTLE_ENDIAN);
                t.getFloatDataList().forEach(b::putFloat);
                out.write(b.array());
                bytes.put(t.getName(), b.array());
                g.setInitializer(i, t.toBuilder().clearFloatData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(kv("location", "weights.bin")).addExternalData(kv("offset", Long.toString(offset)))
                        .addExternalData(kv("length", Integer.toString(b.capacity()))));
                offset += b.capacity();
            }
        }
        return model.toBuilder().setGraph(g).build();
    }

    @Test
    void writingTheResultCopiesScratchAndSourceTensorsByteForByteAndDeletesTheScratch() throws IOException {
        Path src = Files.createDirectories(dir.resolve("in"));
        Path scratchDir = Files.createDirectories(dir.resolve("scratch"));
        Path outDir = Files.createDirectories(dir.resolve("out"));
        GraphBuilder g = new GraphBuilder(11);
        g.input("x", 1, 6);
        String h = g.op("MatMul", "fc1", "x", g.weight("W1", 0.5f, 6, 6));
        g.node("Add", "bias", List.of(h, g.weight("b1", 0.5f, 6)), List.of("y"));
        g.output("y", 1, 6);
        Map<String, byte[]> expected = new LinkedHashMap<>();
        OnnxMl.ModelProto model = externalize(g.model(17, 8), src, expected);
        byte[] sourceData = Files.readAllBytes(src.resolve("weights.bin"));

        // new tensors as a compile makes them from external weights: one appended, one streamed in pieces
        ExternalWeights w = ExternalWeights.of(src, scratchDir);
        byte[] q1 = randomBytes(36, 9);
        byte[] q2 = randomBytes(4100, 10);
        List<TensorProto> added = new ArrayList<>();
        added.add(w.append(ByteBuffer.wrap(q1), INT8, 6, 6).toBuilder().setName("W1_q").build());
        long start = w.begin();
        w.write(ByteBuffer.wrap(q2, 0, 4000));
        w.write(ByteBuffer.wrap(q2, 4000, 100));
        added.add(w.end(start, INT8, 4100).toBuilder().setName("big_q").build());
        expected.put("W1_q", q1);
        expected.put("big_q", q2);
        assertEquals(src.resolve("weights.bin"), w.file(model.getGraph().getInitializer(0)));
        OnnxMl.ModelProto rewritten = model.toBuilder().setGraph(model.getGraph().toBuilder().addAllInitializer(added)).build();
        List<Path> scratch = w.finish();
        assertEquals(1, scratch.size());
        StampResult result = new StampResult(rewritten, new StampReport("test", 17, List.of(), List.of(), Map.of()), scratch);

        Path out = outDir.resolve("OUT.onnx");
        ModelFile.write(result, src, out);

        assertEquals(List.of("OUT.onnx", "OUT.onnx.data"), listing(outDir));
        assertFalse(Files.exists(scratch.get(0)), "the scratch file is deleted once copied");
        assertEquals(List.of(), listing(scratchDir));
        assertArrayEquals(sourceData, Files.readAllBytes(src.resolve("weights.bin")));
        OnnxMl.ModelProto written = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(out));
        Map<String, byte[]> copied = new LinkedHashMap<>();
        for (TensorProto t : written.getGraph().getInitializerList()) {
            assertTrue(ExternalWeights.isExternal(t), t.getName());
            assertEquals("OUT.onnx.data", entry(t, "location"), t.getName());
            assertEquals(0, ExternalWeights.offset(t) % 4096, t.getName());
            copied.put(t.getName(), bytesAt(outDir.resolve("OUT.onnx.data"), t));
        }
        assertEquals(expected.keySet(), copied.keySet());
        for (String name : expected.keySet()) assertArrayEquals(expected.get(name), copied.get(name), name);
        TensorProto big = written.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("big_q")).findFirst().orElseThrow();
        assertEquals(List.of(4100L), big.getDimsList());
        assertEquals(INT8, big.getDataType());
        // and the written model reads back with all its external data in place
        assertEquals(4, ModelFile.read(out).proto().getGraph().getInitializerCount());
    }
}
