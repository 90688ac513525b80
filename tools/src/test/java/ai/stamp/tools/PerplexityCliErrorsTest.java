package ai.stamp.tools;

import static ai.stamp.tools.CliTest.cli;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.RealModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each user error of {@code perplexity}: one line on stderr and its documented exit code. */
class PerplexityCliErrorsTest {
    @TempDir Path dir;

    private static String story() { return PerplexityRuns.story().toString(); }

    private static String stories() { return RealModels.stories260K().toString(); }

    @Test
    void anEncoderIsNotACausalLm() {
        cli("perplexity", RealModels.miniLm().toString(), "--text", story()).failsWith(6,
                "all-minilm-l6-v2.onnx is not a causal LM this command can run: it has no rank-3 float 'logits' output "
                        + "[batch, sequence, vocabulary] (outputs: last_hidden_state[?,?,384])");
    }

    @Test
    void aGraphWithRank2LogitsIsNotACausalLm() throws Exception {
        // input_ids [1, S] int64 -> Cast -> 'logits' [1, S] float: token ids in, but no per-position vocabulary
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("rank2")
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Cast").addInput("input_ids").addOutput("logits")
                        .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("to").setType(OnnxMl.AttributeProto.AttributeType.INT)
                                .setI(OnnxMl.TensorProto.DataType.FLOAT_VALUE)))
                .addInput(value("input_ids", OnnxMl.TensorProto.DataType.INT64_VALUE))
                .addOutput(value("logits", OnnxMl.TensorProto.DataType.FLOAT_VALUE)).build();
        Path p = dir.resolve("rank2.onnx");
        Files.write(p, OnnxMl.ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(17)).setGraph(g).build().toByteArray());
        cli("perplexity", p.toString(), "--text", story())
                .failsWith(6, "rank2.onnx is not a causal LM this command can run: it has no rank-3 float 'logits' output");
    }

    private static OnnxMl.ValueInfoProto value(String name, int type) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type).setShape(OnnxMl.TensorShapeProto.newBuilder()
                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(1))
                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("S"))))).build();
    }

    @Test
    void noTokenizerBesideTheModel() throws Exception {
        Path m = Files.copy(RealModels.stories260K(), dir.resolve("lm.onnx"));
        cli("perplexity", m.toString(), "--text", story()).failsWith(3, "no tokenizer for lm.onnx: looked for lm-tokenizer.json and tokenizer.json in "
                + dir.toAbsolutePath() + "; --tokenizer FILE sets it");
        cli("perplexity", m.toString(), "--text", story(), "--tokenizer", dir.resolve("none.json").toString())
                .failsWith(3, "tokenizer " + dir.resolve("none.json") + " does not exist");
    }

    @Test
    void aTokenizerWithALargerVocabularyThanTheLogits() {
        // MiniLM's WordPiece ids run to 30521; stories260K's logits have 512 entries
        CliTest.Run r = cli("perplexity", stories(), "--text", story(), "--tokenizer", RealModels.miniLmTokenizer().toString());
        r.failsWith(6, "but stories260K.onnx's logits have 512 entries: is the tokenizer the model's own?");
    }

    @Test
    void aTextWithNothingToScore() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.txt"), "");
        cli("perplexity", stories(), "--text", empty.toString())
                .failsWith(2, "--text " + empty + " gives 0 token(s), none of which can be scored: give a longer text");
    }

    @Test
    void missingTextOrModel() {
        Path nope = dir.resolve("nope.txt");
        cli("perplexity", stories(), "--text", nope.toString()).failsWith(3, "--text " + nope + " does not exist or is not a file");
        cli("perplexity", dir.resolve("nope.onnx").toString(), "--text", story()).failsWith(3, "nope.onnx does not exist");
    }

    @Test
    void windowBeyondTheDeclaredContextAndBadCounts() {
        cli("perplexity", stories(), "--text", story(), "--window", "600")
                .failsWith(2, "--window 600 exceeds the 512-token context of stories260K.onnx (metadata seq_len = 512)");
        cli("perplexity", stories(), "--text", story(), "--window", "64", "--stride", "64")
                .failsWith(2, "--stride must be in 1..63 for --window 64 (a larger stride would leave tokens unscored), got 64");
        cli("perplexity", stories(), "--text", story(), "--chunk", "0").failsWith(2, "--chunk must be >= 1, got 0");
        cli("perplexity", stories()).failsWith(2, "Missing required option: '--text=FILE'");
    }
}
