package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtException;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.MergedDecoders;
import ai.stamp.testmodels.RealModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code --kv-bits}: the KV cache of a real decoder quantized where it is written and read, per mode. */
class KvCacheEndToEndTest {
    private static final OnnxMl.ModelProto STORIES = ModelFile.read(RealModels.stories260K()).proto();

    private static StampResult compile(OnnxMl.ModelProto m, StampConfig.Mode mode, int kvBits) {
        return StampCompiler.compile(m, StampConfig.builder().mode(mode).kvBits(kvBits).build());
    }

    @Test
    void everyCacheTensorIsQuantizedWhereAttentionReadsIt() {
        StampResult r = compile(STORIES, StampConfig.Mode.STAMP, 4);
        StampReport.KvCache kv = r.report().decoder().kvCache();
        assertEquals(10, kv.tensors().size(), kv.tensors().toString());
        assertTrue(kv.skipped().isEmpty());
        // stories260K writes present.N through an Identity of the Concat attention reads: the Concat's output is quantized
        OnnxMl.GraphProto g = r.model().getGraph();
        OnnxMl.NodeProto identity = g.getNodeList().stream().filter(n -> n.getOutput(0).equals("present.0.key")).findFirst().orElseThrow();
        assertEquals("Identity", identity.getOpType());
        OnnxMl.NodeProto concat = g.getNodeList().stream().filter(n -> n.getOutputList().contains(identity.getInput(0))).findFirst().orElseThrow();
        assertEquals("Concat", concat.getOpType());
        assertTrue(concat.getDocString().contains("kv-cache"), concat.getDocString());
        // 512 cached tokens: sink + 63 completed blocks quantized (1 + 63 band tokens at 8 bits of 505), 7 open in float
        StampReport.KvBits at512 = kv.effectiveBits().stream().filter(b -> b.cacheTokens() == 512).findFirst().orElseThrow();
        assertEquals(new StampReport.KvBits(512, 505, (64 * 8 + 441 * 4) / 505.0, 7), at512);
    }

    @Test
    void transformOnlyIsExactAndQuantizingChangesWhatAttentionSees() throws OrtException {
        long[] ids = DecoderChunksEndToEndTest.someIds();
        float[][] reference = DecoderChunksEndToEndTest.logits(STORIES, ids, ids.length);
        OnnxMl.ModelProto exact = compile(STORIES, StampConfig.Mode.TRANSFORM_ONLY, 4).model();
        for (int chunk : new int[] {ids.length, 1}) {
            assertTrue(DecoderChunksEndToEndTest.maxDiff(reference, DecoderChunksEndToEndTest.logits(exact, ids, chunk)) < 1e-3, "chunk " + chunk);
        }
        float[][] noKv = DecoderChunksEndToEndTest.logits(compile(STORIES, StampConfig.Mode.STAMP, 0).model(), ids, ids.length);
        float[][] kv = DecoderChunksEndToEndTest.logits(compile(STORIES, StampConfig.Mode.STAMP, 4).model(), ids, ids.length);
        assertTrue(DecoderChunksEndToEndTest.maxDiff(noKv, kv) > 0.1, "a prefill of 24 tokens attends to quantized completed blocks");
    }

    @Test
    void aMergedDecoderGetsItsCacheQuantizedInBothBranches() {
        StampReport.KvCache kv = compile(MergedDecoders.merged(STORIES), StampConfig.Mode.BASELINE, 4).report().decoder().kvCache();
        assertEquals(20, kv.tensors().size());
        assertTrue(kv.tensors().stream().anyMatch(t -> t.contains("then_branch")) && kv.tensors().stream().anyMatch(t -> t.contains("else_branch")));
        assertEquals("baseline", kv.mode());
    }

    @Test
    void anEncoderWithKvBitsIsOneClearError() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = StampCli.run(new PrintWriter(out), new PrintWriter(err), RealModels.miniLm().toString(), "/tmp/never-written.onnx", "--kv-bits", "4");
        assertEquals(6, code);
        assertEquals(List.of("stamp-onnx: error: --kv-bits quantizes a decoder's KV cache, and this model has no past KV input (e.g. past_key_values.0.key):"
                + " drop --kv-bits"), err.toString().lines().toList());
    }
}
