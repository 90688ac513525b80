package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.stamp.testmodels.RealModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rewrite command on stories260K_fp16, whose output ONNX Runtime used to refuse ("B has inconsistent type
 * tensor(float16)") while the summary said its float16 weights were left float: exit 0 now means a model that loads,
 * in both forms, and a summary without weights left float.
 */
class Float16CliTest {
    @TempDir Path dir;

    @Test
    void float16ModelIsRewrittenIntoOneThatLoads() throws Exception {
        for (String emit : new String[] {"auto", "simulate"}) {
            Path out = dir.resolve("stories_" + emit + ".onnx");
            CliTest.Run r = CliTest.cli("rewrite", RealModels.stories260KFp16().toString(), out.toString(), "--emit", emit);
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains("36 linear layer(s) rewritten"), r.out());
            assertFalse(r.out().contains("left float"), r.out());
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
                 OrtSession s = OrtEnvironment.getEnvironment().createSession(out.toString(), so)) {
                assertTrue(s.getOutputNames().contains("logits"));
            }
        }
    }
}
