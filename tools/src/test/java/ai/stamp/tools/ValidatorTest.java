package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.RealModels;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ValidatorTest {
    @Test
    void aModelAgainstItselfIsExact() {
        LoadedModel m = ModelFile.read(RealModels.miniLm());
        List<ModelInputs.Sample> inputs = ModelInputs.forModel(m, null, RealModels.miniLmTokenizer(), 64, 2, Map.of());
        Validator.Report r = Validator.validate(m, m, inputs);
        assertEquals(1, r.outputs().size());
        Validator.OutputMetric o = r.outputs().get(0);
        assertEquals("last_hidden_state", o.name());
        assertEquals("pooled", o.cosineKind());
        assertTrue(o.sqnrDb() > 120, "SQNR " + o.sqnrDb());
        assertEquals(1.0, o.cosine(), 1e-9);
        assertTrue(r.layers().isEmpty(), "the original has no ai.stamp.layers metadata");
        JsonObject json = JsonParser.parseString(r.toJson()).getAsJsonObject();
        assertEquals("last_hidden_state", json.getAsJsonArray("outputs").get(0).getAsJsonObject().get("name").getAsString());
        assertTrue(json.has("layers"));
    }
}
