package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code bench --quick --only kernels}: a fast smoke run of the report (the figures themselves are not asserted). */
class BenchCommandTest {
    @Test
    void quickKernelsPrintsOneMarkdownReport() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        long t0 = System.nanoTime();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), "bench", "--quick", "--only", "kernels");
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        String md = out.toString();
        assertEquals(0, code, err.toString());
        assertTrue(took.toSeconds() < 20, "took " + took);
        assertTrue(md.startsWith("# stamp-onnx bench (--quick"), md);
        assertTrue(md.contains("- date: ") && md.contains("- machine: ") && md.contains("- JVM: ") && md.contains("- ONNX Runtime (Java): "), md);
        assertTrue(md.contains("## (5) Java reference kernels"), md);
        assertTrue(md.contains("| System.arraycopy GB/s"), md);
        for (String k : new String[] {"HaarSequence.apply", "Haar2dSequence.apply", "MixedPrecisionQdq.apply"}) {
            assertTrue(md.lines().anyMatch(l -> l.startsWith("| " + k) && (l.endsWith("| PASS |") || l.endsWith("| MISS |"))), k + "\n" + md);
        }
        assertTrue(!md.contains("## (2)") && !md.contains("## (4)"), md);
    }

    @Test
    void unknownSectionIsABadOption() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), "bench", "--only", "nope");
        assertEquals(2, code);
        assertTrue(err.toString().contains("unknown bench section 'nope'"), err.toString());
    }

    @Test
    void gpuSectionSaysItWasNotChecked() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), "bench", "--only", "gpu");
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("## (6) GPU") && out.toString().contains("| NOT CHECKED |"), out.toString());
    }
}
