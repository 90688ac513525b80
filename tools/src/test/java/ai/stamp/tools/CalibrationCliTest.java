package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.RealModels;
import ai.stamp.testmodels.TinyGraphs;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --calib} through the real entry point, and the calibration option errors. */
class CalibrationCliTest {
    @TempDir Path dir;

    private Path tiny() throws Exception {
        Path p = dir.resolve("tiny.onnx");
        Files.write(p, TinyGraphs.encoderBlock(13, 8, 1).toByteArray());
        return p;
    }

    private static void writeFloatPb(Path file, long[] shape, long seed) throws Exception {
        int n = 1;
        for (long d : shape) n *= (int) d;
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        Random r = new Random(seed);
        for (int i = 0; i < n; i++) b.putFloat((float) r.nextGaussian());
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName("x")
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(b.array()));
        for (long d : shape) t.addDims(d);
        Files.createDirectories(file.getParent());
        Files.write(file, t.build().toByteArray());
    }

    @Test
    void miniLmTextCalibrationWithEnergyAllocation() throws Exception {
        Path text = dir.resolve("calib.txt");
        Files.writeString(text, DefaultText.get());
        Path out = dir.resolve("minilm.energy.onnx");
        CliTest.Run r = CliTest.cli(RealModels.miniLm().toString(), out.toString(), "--calib", text.toString(),
                "--calib-samples", "2", "--calib-seq-len", "64", "--allocate", "energy", "--avg-bits", "5");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("calibration: sample 1/2") && r.err().contains("calibration: sample 2/2"), r.err());
        assertTrue(r.err().contains("calibration: 24 tensor(s) from 2 sample(s)"), r.err());
        assertTrue(r.out().contains("36 linear layer(s) rewritten"), r.out());
        // the default int8 weights (the 36 layers' 10.6M values at one byte; all float: 90.4 MB)
        long size = Files.size(out);
        assertTrue(size > 55_000_000L && size < 62_000_000L, "int8 weights: " + size + " bytes");

        // --quiet silences the progress lines
        CliTest.Run q = CliTest.cli("inspect", "--quiet", RealModels.miniLm().toString(), "--calib", text.toString(),
                "--calib-samples", "1", "--calib-seq-len", "32", "--smooth", "0.5");
        assertEquals(0, q.code(), q.err());
        assertEquals("", q.err().strip());
    }

    @Test
    void pbDirectoryWithNumberedSamples() throws Exception {
        Path model = tiny();
        Path calib = dir.resolve("calib");
        writeFloatPb(calib.resolve("0/x.pb"), new long[] {1, 20, 8}, 1);
        writeFloatPb(calib.resolve("1/x.pb"), new long[] {2, 12, 8}, 2);
        CliTest.Run r = CliTest.cli("inspect", model.toString(), "--calib", calib.toString(), "--sink-tokens", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("calibration: sample 2/2"), r.err());
        assertTrue(r.err().contains("calibration: 4 tensor(s) from 2 sample(s)"), r.err());

        // the .pb reader round-trips
        ModelInputs.Input x = CalibrationInputs.readTensor(calib.resolve("1/x.pb"));
        assertArrayEquals(new long[] {2, 12, 8}, x.shape());
        assertEquals(2 * 12 * 8, ((float[]) x.data()).length);
        assertEquals(new Random(2).nextGaussian(), ((float[]) x.data())[0], 1e-6);

        // one sample: .pb files directly in the directory
        writeFloatPb(dir.resolve("one/x.pb"), new long[] {1, 9, 8}, 3);
        CliTest.Run one = CliTest.cli("inspect", model.toString(), "--calib", dir.resolve("one").toString());
        assertEquals(0, one.code(), one.err());
        assertTrue(one.err().contains("calibration: sample 1/1"), one.err());
    }

    @Test
    void calibFileMissing() throws Exception {
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--calib", dir.resolve("nope.txt").toString())
                .failsWith(3, "nope.txt does not exist");
    }

    @Test
    void energyAllocationNeedsAvgBits() throws Exception {
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--allocate", "energy").failsWith(2, "--avg-bits");
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--avg-bits", "5").failsWith(2, "--avg-bits only applies");
    }

    @Test
    void smoothOutOfRange() throws Exception {
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--smooth", "2").failsWith(2, "--smooth ALPHA must be in 0..1");
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--smooth", "-0.5").failsWith(2, "--smooth ALPHA must be in 0..1");
    }

    @Test
    void badEnumValues() throws Exception {
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--rotate", "spin").failsWith(2, "--rotate must be one of none, hadamard, random-hadamard");
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--allocate", "greedy").failsWith(2, "--allocate must be one of");
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--weights", "gptq3").failsWith(2, "gptq8, gptq4");
    }

    @Test
    void optionsNeedingCalibrationWithoutCalib() throws Exception {
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--smooth", "0.5").failsWith(2, "add --calib FILE|DIR");
        CliTest.cli("inspect", tiny().toString(), "--weights", "gptq4").failsWith(2, "add --calib FILE|DIR");
    }

    @Test
    void textCalibrationOnANonTextModel() throws Exception {
        Path text = dir.resolve("c.txt");
        Files.writeString(text, "hello world");
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--calib", text.toString())
                .failsWith(2, "does not take token ids");
        Files.createDirectories(dir.resolve("empty"));
        CliTest.cli(tiny().toString(), dir.resolve("o.onnx").toString(), "--calib", dir.resolve("empty").toString())
                .failsWith(3, "holds no .pb tensors");
    }
}
