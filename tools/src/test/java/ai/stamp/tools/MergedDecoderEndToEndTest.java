package ai.stamp.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtException;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.ModelFile;
import ai.stamp.testmodels.MergedDecoders;
import ai.stamp.testmodels.RealModels;
import org.junit.jupiter.api.Test;

/**
 * A merged decoder (Optimum's If on use_cache_branch, the compute in both branches, weights outside): both branches are
 * rewritten, a weight both read is stored once, the past length is computed once in the main graph, and each branch
 * computes what the rewritten plain decoder computes, in prefill and through the cache.
 */
class MergedDecoderEndToEndTest {
    private static final OnnxMl.ModelProto PLAIN = ModelFile.read(RealModels.stories260K()).proto();
    private static final OnnxMl.ModelProto MERGED = MergedDecoders.merged(PLAIN);

    /** Initializer bytes of a graph and every graph nested in it. */
    private static long initializerBytes(OnnxMl.GraphProto g) {
        long sum = g.getInitializerList().stream().mapToLong(OnnxMl.TensorProto::getSerializedSize).sum();
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            for (OnnxMl.AttributeProto a : n.getAttributeList()) if (a.hasG()) sum += initializerBytes(a.getG());
        }
        return sum;
    }

    @Test
    void bothBranchesAreRewrittenWithTheirWeightsStoredOnce() throws OrtException {
        StampResult plain = StampCompiler.compile(PLAIN, StampConfig.builder().build());
        StampResult merged = StampCompiler.compile(MERGED, StampConfig.builder().build());
        assertEquals(2 * plain.report().rewritten().size(), merged.report().rewritten().size());
        assertEquals(plain.report().rewritten().size(), merged.report().rewritten().stream().filter(l -> l.graph().contains("then_branch")).count());
        // the weights (int8 + scales, outer-scope) once: the same initializer bytes as the plain rewrite; only the nodes double
        assertEquals(initializerBytes(plain.model().getGraph()), initializerBytes(merged.model().getGraph()));
        OnnxMl.GraphProto main = merged.model().getGraph();
        assertEquals("Sub", main.getNode(4).getOpType(), "P computed once, in the main graph, before the If");
        assertEquals("If", main.getNode(main.getNodeCount() - 1).getOpType());
        assertTrue(merged.report().decoder() != null);

        long[] ids = DecoderChunksEndToEndTest.someIds();
        // a prefill through the no-cache branch, token-by-token decoding through the cache branch (as Optimum runs them)
        for (int chunk : new int[] {ids.length, 1}) {
            boolean branch = chunk == 1;
            float[][] want = DecoderChunksEndToEndTest.logits(plain.model(), ids, chunk);
            double d = DecoderChunksEndToEndTest.maxDiff(want, DecoderChunksEndToEndTest.logits(merged.model(), ids, chunk, branch));
            assertTrue(d < 1e-4, "chunk " + chunk + " use_cache_branch=" + branch + ": max |dlogit| " + d);
        }
    }
}
