package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.TinyGraphs;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code table} command end to end on a tiny encoder block calibrated from .pb samples. */
class TableCommandTest {
    @TempDir Path dir;

    /** Sequences that vary slowly along the tokens (like real activations), as numbered .pb samples. */
    private void writeSmoothSamples(Path calib, int count) throws Exception {
        Random r = new Random(4);
        for (int s = 0; s < count; s++) {
            int seq = 48, d = 8;
            ByteBuffer b = ByteBuffer.allocate(4 * seq * d).order(ByteOrder.LITTLE_ENDIAN);
            for (int t = 0; t < seq; t++) {
                for (int f = 0; f < d; f++) b.putFloat((float) (Math.sin(0.1 * t + f + s) + 0.05 * r.nextGaussian()));
            }
            OnnxMl.TensorProto t = OnnxMl.TensorProto.newBuilder().setName("x").setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                    .addDims(1).addDims(seq).addDims(d).setRawData(ByteString.copyFrom(b.array())).build();
            Files.createDirectories(calib.resolve(Integer.toString(s)));
            Files.write(calib.resolve(s + "/x.pb"), t.toByteArray());
        }
    }

    @Test
    void printsOneRowPerMethodAndOneColumnPerScheme() throws Exception {
        Path model = dir.resolve("block.onnx");
        Files.write(model, TinyGraphs.encoderBlock(13, 8, 1).toByteArray());
        Path calib = dir.resolve("calib");
        writeSmoothSamples(calib, 3);
        Path md = dir.resolve("table.md");
        CliTest.Run r = CliTest.cli("table", model.toString(), "--calib", calib.toString(), "--weights", "rtn8,gptq8",
                "--hi-tokens", "8", "--samples", "1", "--dim", "seq=48", "--out", md.toString(), "-q");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("| method | baseline | STaMP | baseline K=8 | STaMP K=8 | STaMP energy 5.0 b | uniform 5 b, no transform |", lines.get(0));
        assertEquals(2 + 6, lines.size(), r.out());
        assertTrue(lines.get(2).startsWith("| RTN W8 |") && lines.get(4).startsWith("| RTN W8 + Hadamard |")
                && lines.get(5).startsWith("| GPTQ W8 |"), r.out());
        for (String row : lines.subList(2, lines.size())) {
            String[] cells = row.split("\\|");
            assertEquals(8, cells.length, row);
            for (int c = 2; c < 8; c++) {
                double sqnr = Double.parseDouble(cells[c].replace("*", "").trim().split(" / ")[0]);
                assertTrue(sqnr > 5 && sqnr < 200, row);
            }
        }
        assertTrue(Files.readString(md).contains(lines.get(0)));
        assertTrue(r.out().contains("**"), "the best cell is marked");
    }

    @Test
    void needsCalibrationData() {
        CliTest.Run r = CliTest.cli("table", dir.resolve("m.onnx").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("table needs --calib"), r.err());
    }
}
