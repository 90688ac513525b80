package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.testmodels.TinyGraphs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code validate --html} through the real entry point on a tiny encoder block rewritten in-process. */
class ValidateHtmlCliTest {
    @TempDir Path dir;

    private Path write(String name, OnnxMl.ModelProto m) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, m.toByteArray());
        return p;
    }

    @Test
    void writesThePageWithEveryLayer() throws Exception {
        OnnxMl.ModelProto original = TinyGraphs.encoderBlock(13, 8, 1);
        OnnxMl.ModelProto stamp = StampCompiler.compile(original, StampConfig.builder().build()).model();
        OnnxMl.ModelProto base = StampCompiler.compile(original, StampConfig.builder().mode(StampConfig.Mode.BASELINE).build()).model();
        Path o = write("orig.onnx", original), s = write("stamp.onnx", stamp), b = write("base.onnx", base);
        Path html = dir.resolve("out/report.html");
        CliTest.Run r = CliTest.cli("validate", o.toString(), s.toString(), "--baseline", b.toString(), "--samples", "2",
                "--dim", "seq=40", "--html", html.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.exists(html));
        String page = Files.readString(html);
        List<Validator.Layer> layers = Validator.rewrittenLayers(stamp);
        assertFalse(layers.isEmpty());
        for (Validator.Layer l : layers) assertTrue(page.contains("<td class=\"name\">" + HtmlReport.esc(l.name()) + "</td>"), l.name());
        assertTrue(page.contains("after the 1D Haar"), "energy profile of the first layer");
        assertTrue(page.contains("baseline (base.onnx)"));
        assertTrue(r.out().contains("baseline base.onnx"), r.out());
        assertTrue(r.err().contains("validate: wrote"), "progress on stderr: " + r.err());
        assertFalse(page.toLowerCase().contains("http"));
    }

    @Test
    void quietChosenLayerAndErrors() throws Exception {
        OnnxMl.ModelProto original = TinyGraphs.encoderBlock(13, 8, 2);
        OnnxMl.ModelProto stamp = StampCompiler.compile(original, StampConfig.builder().build()).model();
        Path o = write("orig.onnx", original), s = write("stamp.onnx", stamp);
        List<Validator.Layer> layers = Validator.rewrittenLayers(stamp);
        String last = layers.get(layers.size() - 1).name();
        Path html = dir.resolve("r.html");
        CliTest.Run r = CliTest.cli("validate", o.toString(), s.toString(), "--samples", "1", "--dim", "seq=17",
                "--html", html.toString(), "--energy-layer", last, "-q");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err().strip(), "--quiet silences progress");
        assertTrue(Files.readString(html).contains("Layer <code>" + HtmlReport.esc(last) + "</code>"));

        CliTest.cli("validate", o.toString(), s.toString(), "--samples", "1", "--dim", "seq=17", "--html", html.toString(),
                "--energy-layer", "no-such-layer").failsWith(2, "no-such-layer");
        CliTest.cli("validate", o.toString(), s.toString(), "--energy-layer", "q").failsWith(2, "--energy-layer needs --html");
    }
}
