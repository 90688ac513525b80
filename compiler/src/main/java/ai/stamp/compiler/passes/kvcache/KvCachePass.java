package ai.stamp.compiler.passes.kvcache;

import static ai.stamp.ops.OnnxDialect.intAttr;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.Pass;
import ai.stamp.ops.CompletedBlocks;
import ai.stamp.ops.MixedPrecisionQdq;
import ai.stamp.ops.SequenceTransform;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.ops.TokenPrecision;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --kv-bits B}: STaMP on a decoder's KV cache (the paper's KV4.125), in simulation form. Each cache tensor C
 * [batch, heads, T, head_dim] ({@link KvCacheSites}) becomes
 * <pre>
 *   head, tail = CompletedBlocks(C)                     sink + completed blocks | the open block (&lt; B tokens)
 *   head' = L^T Q(L head)    (STaMP)   |   Q(head) (matched baseline)   |   L^T L head (transform-only)
 *   C' = Concat(head', tail)                             under C's own name, so present and attention both read it
 * </pre>
 * Q is per token (per head: each of the head_dim rows), at --hi-bits for the sink and the approximation band (the
 * baseline: the same count of first tokens) and B bits for the rest. As the cache grows one token per step, a block is
 * quantized when its last token arrives, and the open block stays at the model's precision until then; a block
 * quantized before is on its quantization grid, so quantizing it again changes it only by float rounding.
 */
public final class KvCachePass implements Pass<KvCachePass.Plan> {
    public static final String NAME = "kv-cache";
    /** Cache lengths the report gives effective bits for. */
    private static final int[] REPORTED_LENGTHS = {16, 128, 512};

    private final StampConfig config;

    public KvCachePass(StampConfig config) { this.config = config; }

    /** The cache tensors to quantize and the ones left alone. */
    public record Plan(List<KvCacheSites.Site> sites, List<KvCacheSites.Skipped> skipped, SequenceTransform transform, TokenPrecision precision) {
        /** What the report says about the cache: tensors, bits and, per cache length, the effective bits. */
        public StampReport.KvCache report(StampConfig config) {
            List<StampReport.KvBits> bits = new ArrayList<>();
            CompletedBlocks split = new CompletedBlocks(transform);
            for (int t : REPORTED_LENGTHS) {
                int head = split.headLength(t);
                double avg = 0;
                if (config.mode() != StampConfig.Mode.TRANSFORM_ONLY) {
                    int quantized = precision.layout().identity() ? head : ai.stamp.ops.BlockGeometry.of(transform, head).transformedLength();
                    for (int b : precision.bitsPerToken(quantized)) avg += b;
                    avg /= quantized;
                }
                bits.add(new StampReport.KvBits(t, head, avg, t - head));
            }
            List<String> tensors = sites.stream().map(s -> s.graph().path() + ":" + s.tensor()).toList();
            List<String> left = skipped.stream().map(s -> s.graph() + ":" + s.tensor() + " (" + s.reason() + ")").toList();
            String mode = config.mode().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            return new StampReport.KvCache(mode, config.hiBits(), config.kvBits(), tensors, left, List.copyOf(bits));
        }
    }

    @Override public String name() { return NAME; }

    @Override
    public Plan plan(OnnxMl.ModelProto model) {
        Graph main = new Graph(model.getGraph());
        KvCacheSites.Found found = KvCacheSites.of(main);
        List<KvCacheSites.Site> sites = new ArrayList<>();
        List<KvCacheSites.Skipped> skipped = new ArrayList<>(found.skipped());
        for (KvCacheSites.Site s : found.sites()) {
            int type = elementType(s.graph(), s.tensor());
            if (type != OnnxMl.TensorProto.DataType.FLOAT_VALUE && type != OnnxMl.TensorProto.DataType.UNDEFINED_VALUE) {
                skipped.add(new KvCacheSites.Skipped(s.graph().path(), s.tensor(), "the cache is " + OnnxMl.TensorProto.DataType.forNumber(type)
                        + "; the KV quantizer runs on float32 caches only"));
            } else {
                sites.add(s);
            }
        }
        // a 2D token grid has no meaning along a cache's single token axis: its 1D Haar at the same levels
        String id = SequenceTransforms.isGrid(config.transform()) ? ai.stamp.ops.HaarTransform.ID : config.transform();
        SequenceTransform transform = SequenceTransforms.of(id, config.levels(), config.sinkTokens());
        ai.stamp.ops.SequenceLayout layout = config.mode() == StampConfig.Mode.BASELINE ? transform.layout().identityOf() : transform.layout();
        TokenPrecision precision = new TokenPrecision(layout, config.hiBits(), config.kvBits(), 0);
        return new Plan(List.copyOf(sites), List.copyOf(skipped), transform, precision);
    }

    private static int elementType(Graph g, String tensor) {
        return g.declaredType(tensor).filter(OnnxMl.TypeProto::hasTensorType).map(t -> t.getTensorType().getElemType())
                .orElse(OnnxMl.TensorProto.DataType.UNDEFINED_VALUE);
    }

    @Override
    public void rewrite(Plan plan, ModelEditor editor) {
        for (KvCacheSites.Site s : plan.sites()) {
            GraphEditor edit = editor.graph(s.graph(), NAME);
            String raw = edit.fresh(s.tensor() + "_unquantized");
            NodeProto.Builder producer = s.producer().toBuilder();
            for (int i = 0; i < producer.getOutputCount(); i++) if (producer.getOutput(i).equals(s.tensor())) producer.setOutput(i, raw);
            List<NodeProto> nodes = new ArrayList<>();
            nodes.add(producer.build());
            String head = edit.fresh(s.tensor() + "_stamp_head"), tail = edit.fresh(s.tensor() + "_stamp_tail");
            nodes.add(edit.call(new CompletedBlocks(plan.transform()), List.of(raw), List.of(head, tail), s.tensor()));
            String headOut = quantizedHead(plan, edit, head, s.tensor(), nodes);
            nodes.add(edit.node("Concat", List.of(headOut, tail), List.of(s.tensor()), s.tensor(), intAttr("axis", -2)));
            edit.replace(s.producer(), nodes);
        }
    }

    /** L^T Q(L head), Q(head) or L^T L head, per the mode. */
    private String quantizedHead(Plan plan, GraphEditor edit, String head, String forTensor, List<NodeProto> nodes) {
        StampConfig.Mode mode = config.mode();
        String x = head;
        if (mode != StampConfig.Mode.BASELINE) {
            x = edit.fresh(forTensor + "_stamp_coeffs");
            nodes.add(edit.call(plan.transform().forward(), List.of(head), List.of(x), forTensor));
        }
        if (mode != StampConfig.Mode.TRANSFORM_ONLY) {
            String levels = edit.fresh(forTensor + "_stamp_levels"), q = edit.fresh(forTensor + "_stamp_q");
            nodes.add(edit.call(plan.precision(), List.of(x), List.of(levels), forTensor));
            nodes.add(edit.call(MixedPrecisionQdq.INSTANCE, List.of(x, levels), List.of(q), forTensor));
            x = q;
        }
        if (mode == StampConfig.Mode.BASELINE) return x;
        String restored = edit.fresh(forTensor + "_stamp_dq");
        nodes.add(edit.call(plan.transform().inverse(), List.of(x, head), List.of(restored), forTensor));
        return restored;
    }
}
