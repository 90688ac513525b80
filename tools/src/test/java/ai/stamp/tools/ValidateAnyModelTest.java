package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.RealModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** validate runs on models whose inputs are not [batch, seq] token windows with a tokenizer beside them. */
class ValidateAnyModelTest {
    @TempDir Path dir;

    /** A conv1d front end as speech encoders have: kernel 400, stride 160, so fewer than 400 samples cannot run. */
    static OnnxMl.ModelProto speechEncoder() {
        GraphBuilder g = new GraphBuilder(7);
        g.input("input_values", "batch_size", "sequence_length");
        g.output("last_hidden_state", "batch_size", "frames", 8L);
        String x = g.op("Unsqueeze", "unsqueeze", "input_values", g.ints("axis1", 1));
        String c = g.op("Conv", "conv", List.of(x, g.weight("conv.w", 0.05f, 8, 1, 400)),
                GraphBuilder.intsAttr("kernel_shape", 400), GraphBuilder.intsAttr("strides", 160));
        String t = g.op("Transpose", "t", List.of(c), GraphBuilder.intsAttr("perm", 0, 2, 1));
        g.node("MatMul", "proj", List.of(t, g.weight("proj.w", 0.3f, 8, 8)), List.of("last_hidden_state"));
        return g.model(17, 8);
    }

    /** An encoder-decoder's decoder: token embedding, one cross-attention over encoder_hidden_states, logits. */
    static OnnxMl.ModelProto crossAttentionDecoder(Object hidden) { return crossAttentionDecoder(hidden, 50); }

    static OnnxMl.ModelProto crossAttentionDecoder(Object hidden, long vocab) {
        GraphBuilder g = new GraphBuilder(11);
        g.intInput("input_ids", "batch_size", "decoder_sequence_length");
        g.input("encoder_hidden_states", "batch_size", "encoder_sequence_length", hidden);
        g.output("logits", "batch_size", "decoder_sequence_length", vocab);
        String h = g.op("Gather", "embed", g.weight("embed_tokens", 1f, vocab, 16), "input_ids");
        String k = g.op("MatMul", "k_proj", "encoder_hidden_states", g.weight("k.w", 0.25f, 16, 16));
        String v = g.op("MatMul", "v_proj", "encoder_hidden_states", g.weight("v.w", 0.25f, 16, 16));
        String kt = g.op("Transpose", "kt", List.of(k), GraphBuilder.intsAttr("perm", 0, 2, 1));
        String p = g.op("Softmax", "softmax", List.of(g.op("MatMul", "scores", h, kt)), GraphBuilder.intAttr("axis", -1));
        String y = g.op("Add", "residual", h, g.op("MatMul", "context", p, v));
        g.node("MatMul", "lm_head", List.of(y, g.weight("lm_head.w", 0.25f, 16, vocab)), List.of("logits"));
        return g.model(17, 8);
    }

    private Path save(String name, OnnxMl.ModelProto m) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, m.toByteArray());
        return p;
    }

    private static CliTest.Run validate(Path model, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("validate", model.toString(), model.toString(), "--samples", "2", "-q"));
        args.addAll(List.of(extra));
        return CliTest.cli(args.toArray(String[]::new));
    }

    @Test
    void speechEncoderGetsLongerAudioWhenTheDefaultLengthIsRejected() throws Exception {
        CliTest.Run r = validate(save("speech.onnx", speechEncoder()));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("input_values[1, 1024]"), r.out());
        assertTrue(r.out().contains("grown to {sequence_length=1024} after ONNX Runtime rejected {sequence_length=256}"), r.out());
        assertTrue(r.out().contains("last_hidden_state"), r.out());
    }

    @Test
    void speechEncoderLengthFromDimIsKeptAndNotGrown() throws Exception {
        CliTest.Run r = validate(save("speech.onnx", speechEncoder()), "--dim", "sequence_length=800");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("input_values[1, 800]"), r.out());
        assertTrue(!r.out().contains("grown"), r.out());
    }

    @Test
    void aLengthGivenWithDimIsNotGrownEvenWhenTooShort() throws Exception {
        CliTest.Run r = validate(save("speech.onnx", speechEncoder()), "--dim", "sequence_length=300");
        r.failsWith(10, "ONNX Runtime failed to run speech.onnx");
    }

    @Test
    void decoderWithoutTokenizerGetsRandomIdsWithinItsVocabularyAndAnEmptyCache() throws Exception {
        Path lm = Files.copy(RealModels.stories260K(), dir.resolve("lm.onnx"));
        CliTest.Run r = validate(lm, "--seq-len", "32");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("no tokenizer found"), r.out());
        assertTrue(r.out().contains("random ids in [0, 512)"), r.out());
        assertTrue(r.out().contains("past key/values: empty, [1, 4, 0, 8] float"), r.out());
        assertTrue(r.out().contains("logits"), r.out());
    }

    @Test
    void decoderWithItsTokenizerIsFedTextAndAnEmptyCache() throws Exception {
        CliTest.Run r = validate(RealModels.stories260K(), "--seq-len", "32", "--tokenizer", RealModels.stories260KTokenizer().toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("tokenized with tokenizer.json"), r.out());
        assertTrue(r.out().contains("past key/values: empty"), r.out());
    }

    @Test
    void encoderDecoderDecoderGetsRandomEncoderStatesOfTheModelsHiddenSize() throws Exception {
        CliTest.Run r = validate(save("decoder.onnx", crossAttentionDecoder("encoder_hidden_size")), "--seq-len", "12");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("random ids in [0, 50)"), r.out());
        assertTrue(r.out().contains("embedding table 'embed_tokens'"), r.out());
        assertTrue(r.out().contains("encoder states 'encoder_hidden_states': standard-normal random [1, 64, 16] float"), r.out());
        assertTrue(r.out().contains("the rows of weight 'k.w'"), r.out());
    }

    @Test
    void encoderStatesSizesComeFromDim() throws Exception {
        CliTest.Run r = validate(save("decoder.onnx", crossAttentionDecoder(16L)), "--seq-len", "12", "--dim", "encoder_sequence_length=7");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("[1, 7, 16] float (encoder length --dim, hidden size declared"), r.out());
    }

    @Test
    void aDimThatSetsNothingInADecoderIsRefused() throws Exception {
        validate(save("decoder.onnx", crossAttentionDecoder(16L)), "--seq-len", "12", "--dim", "heads=4")
                .failsWith(2, "--dim heads sets none of the sizes");
    }

    @Test
    void encoderDecoderDecoderWithATokenizerGetsTextAndEncoderStates() throws Exception {
        Path report = dir.resolve("r.json");
        CliTest.Run r = validate(save("decoder.onnx", crossAttentionDecoder(16L, 512)), "--seq-len", "12",
                "--tokenizer", RealModels.stories260KTokenizer().toString(), "--report", report.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("tokenized with tokenizer.json"), r.out());
        assertTrue(r.out().contains("standard-normal random [1, 64, 16] float"), r.out());
        String json = Files.readString(report);
        assertTrue(json.contains("\"inputs\"") && json.contains("encoder states 'encoder_hidden_states'"), json);
    }

    /** A decoder whose KV cache is float16: present.0.key = Concat(past (float16), this call's keys cast to float16). */
    static OnnxMl.ModelProto float16CacheDecoder() {
        GraphBuilder g = new GraphBuilder(5);
        g.intInput("input_ids", "batch_size", "sequence_length");
        g.input("past_key_values.0.key", "batch_size", 2L, "past_sequence_length", 4L);
        g.output("logits", "batch_size", "sequence_length", 10L);
        g.output("present.0.key", "batch_size", 2L, "total_sequence_length", 4L);
        String h = g.op("Gather", "embed", g.weight("embed_tokens", 1f, 10, 8), "input_ids");
        String heads = g.op("Transpose", "heads", List.of(g.op("Reshape", "split", h, g.ints("split_shape", 0, 0, 2, 4))),
                GraphBuilder.intsAttr("perm", 0, 2, 1, 3));
        String k16 = g.op("Cast", "to_half", List.of(heads), GraphBuilder.intAttr("to", OnnxMl.TensorProto.DataType.FLOAT16_VALUE));
        g.node("Concat", "cache", List.of("past_key_values.0.key", k16), List.of("present.0.key"), GraphBuilder.intAttr("axis", 2));
        g.node("MatMul", "lm_head", List.of(h, g.weight("lm_head.w", 0.25f, 8, 10)), List.of("logits"));
        OnnxMl.ModelProto.Builder m = g.model(17, 8).toBuilder();
        m.getGraphBuilder().getInputBuilder(1).getTypeBuilder().getTensorTypeBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT16_VALUE);
        m.getGraphBuilder().getOutputBuilder(1).getTypeBuilder().getTensorTypeBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT16_VALUE);
        return m.build();
    }

    @Test
    void float16CacheDecoderGetsAnEmptyFloat16Past() throws Exception {
        CliTest.Run r = validate(save("lm16.onnx", float16CacheDecoder()), "--seq-len", "16");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("random ids in [0, 10)"), r.out());
        assertTrue(r.out().contains("past key/values: empty, [1, 2, 0, 4] float16"), r.out());
        assertTrue(r.out().contains("present.0.key"), "the float16 output is compared too: " + r.out());
    }

    @Test
    void tableStillNeedsATokenizerForATokenModel() throws Exception {
        Path lm = Files.copy(RealModels.stories260K(), dir.resolve("lm.onnx"));
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(ai.stamp.compiler.StampException.class,
                () -> ModelInputs.forModel(ai.stamp.compiler.io.ModelFile.read(lm), null, null, 16, 1, java.util.Map.of()))
                .getMessage().contains("no tokenizer was found"));
    }
}
