package ai.stamp.tools.bench;

import static ai.stamp.ops.OnnxDialect.intAttr;
import static ai.stamp.ops.OnnxDialect.intsAttr;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a Llama-shaped causal LM with the Hugging Face / Optimum decoder interface and random weights, all float32
 * external data in {@code NAME.onnx.data}: inputs {@code input_ids}, {@code attention_mask}, {@code position_ids},
 * {@code past_key_values.N.key|value} [B, kv_heads, P, head_dim]; outputs {@code logits}, {@code present.N.key|value}
 * (through an Identity of the tensor attention reads, as exporters write them). Per layer: RMSNorm (decomposed),
 * Q/K/V projections with grouped-query attention, rotate-half RoPE from position_ids, a causal mask over the cache,
 * the output projection, RMSNorm, a SwiGLU MLP; then a final RMSNorm and an lm_head (separate, or tied to the
 * embedding table). Weights are streamed to disk ({@link ExternalDataWriter}), so the heap never holds one.
 *
 * <p>For the scale benchmark (its perplexity is meaningless: the weights are random) and, small, for tests.
 */
public final class LlamaDecoderGenerator {
    /**
     * The shape. {@code ffn}: the MLP's hidden size; {@code tied}: lm_head reads the embedding table; {@code fusedNorm}:
     * RMSNorm as one {@code SimplifiedLayerNormalization} node (what ONNX Runtime's transformer optimizer writes), else
     * decomposed into Mul/ReduceMean/Add/Sqrt/Div/Mul (what exporters write).
     */
    public record Spec(int d, int layers, int heads, int kvHeads, int ffn, int vocab, boolean tied, boolean fusedNorm, long seed) {
        public Spec(int d, int layers, int heads, int kvHeads, int ffn, int vocab, boolean tied, long seed) {
            this(d, layers, heads, kvHeads, ffn, vocab, tied, false, seed);
        }

        public Spec {
            if (d % heads != 0 || heads % kvHeads != 0) throw new IllegalArgumentException("d % heads and heads % kv_heads must be 0");
            if ((d / heads) % 2 != 0) throw new IllegalArgumentException("head_dim must be even for RoPE");
        }

        public int headDim() { return d / heads; }

        /** Float32 bytes of weights: per layer q, o (d²), k, v (d·kv·hd), gate, up, down (d·ffn), two norms; embeddings, head. */
        public long weightBytes() {
            long kv = (long) kvHeads * headDim();
            long layer = 2L * d * d + 2L * d * kv + 3L * d * ffn + 2L * d;
            return 4L * (layers * layer + (long) vocab * d * (tied ? 1 : 2) + d);
        }

        /** Llama-2-7B's layer shape (d 4096, 32 heads, 8 KV heads as in GQA models, ffn 11008), enough layers for {@code gib}. */
        public static Spec llamaShaped(double gib, int vocab, long seed) {
            Spec one = new Spec(4096, 1, 32, 8, 11008, vocab, false, seed);
            long target = (long) Math.ceil(gib * (1L << 30));
            int layers = (int) Math.max(1, (target + one.weightBytes() - 1) / one.weightBytes());
            return new Spec(4096, layers, 32, 8, 11008, vocab, false, seed);
        }
    }

    private LlamaDecoderGenerator() {}

    /** Writes {@code out} and {@code out.data} (replacing them). */
    public static LargeModelGenerator.Generated generate(Path out, Spec spec) {
        Path data = out.resolveSibling(out.getFileName() + ".data");
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            Builder b = new Builder(new ExternalDataWriter(ch, data.getFileName().toString(), spec.seed()), spec);
            OnnxMl.GraphProto graph = b.build();
            OnnxMl.ModelProto model = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("stamp-onnx LlamaDecoderGenerator")
                    .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(graph).build();
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out))) {
                model.writeTo(os);
            }
            return new LargeModelGenerator.Generated(out, data, null, ch.size(), Files.size(out));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    /** The graph, node by node. */
    private static final class Builder {
        private final ExternalDataWriter w;
        private final Spec s;
        private final OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("llama_decoder");
        private int counter;

        Builder(ExternalDataWriter w, Spec s) {
            this.w = w;
            this.s = s;
        }

        OnnxMl.GraphProto build() throws IOException {
            int d = s.d(), hd = s.headDim(), kv = s.kvHeads();
            g.addInput(value("input_ids", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length"));
            g.addInput(value("attention_mask", TensorProto.DataType.INT64_VALUE, "batch_size", "total_sequence_length"));
            g.addInput(value("position_ids", TensorProto.DataType.INT64_VALUE, "batch_size", "sequence_length"));
            for (int l = 0; l < s.layers(); l++) {
                for (String kind : List.of("key", "value")) {
                    g.addInput(value("past_key_values." + l + "." + kind, TensorProto.DataType.FLOAT_VALUE, "batch_size", kv, "past_sequence_length", hd));
                }
            }
            g.addInitializer(w.random("model.embed_tokens.weight", new long[] {s.vocab(), d}, 1f));
            String x = op("Gather", List.of("model.embed_tokens.weight", "input_ids"), intAttr("axis", 0));
            // RoPE tables from position_ids: emb = concat(freqs, freqs), freqs = pos * inv_freq
            float[] invFreq = new float[hd / 2];
            for (int i = 0; i < hd / 2; i++) invFreq[i] = (float) Math.pow(10000, -2.0 * i / hd);
            String freqs = op("Mul", List.of(op("Unsqueeze", List.of(op("Cast", List.of("position_ids"), intAttr("to", TensorProto.DataType.FLOAT_VALUE)),
                    ints("rope_axis", -1))), floats("rope_inv_freq", new long[] {hd / 2}, invFreq)));
            String emb = op("Concat", List.of(freqs, freqs), intAttr("axis", -1));
            String cos = op("Unsqueeze", List.of(op("Cos", List.of(emb)), ints("head_axis", 1)));
            String sin = op("Unsqueeze", List.of(op("Sin", List.of(emb)), ints("head_axis_s", 1)));
            for (int l = 0; l < s.layers(); l++) x = layer(l, x, cos, sin);
            String h = rmsNorm("model.norm", x);
            String logits;
            if (s.tied()) {
                logits = op("MatMul", List.of(h, op("Transpose", List.of("model.embed_tokens.weight"), intsAttr("perm", 1, 0))));
            } else {
                g.addInitializer(w.random("lm_head.weight", new long[] {d, s.vocab()}, (float) (1 / Math.sqrt(d))));
                logits = op("MatMul", List.of(h, "lm_head.weight"));
            }
            g.addNode(node("Identity", List.of(logits), "logits"));
            g.addOutput(value("logits", TensorProto.DataType.FLOAT_VALUE, "batch_size", "sequence_length", s.vocab()));
            for (int l = 0; l < s.layers(); l++) {
                for (String kind : List.of("key", "value")) {
                    g.addOutput(value("present." + l + "." + kind, TensorProto.DataType.FLOAT_VALUE, "batch_size", kv, "total_sequence_length", hd));
                }
            }
            return g.build();
        }

        private String layer(int l, String x, String cos, String sin) throws IOException {
            String p = "model.layers." + l + ".";
            int d = s.d(), hd = s.headDim(), nh = s.heads(), kv = s.kvHeads();
            String h = rmsNorm(p + "input_layernorm", x);
            String q = heads(linear(p + "self_attn.q_proj", h, d, nh * hd), nh, hd);
            String k = heads(linear(p + "self_attn.k_proj", h, d, kv * hd), kv, hd);
            String v = heads(linear(p + "self_attn.v_proj", h, d, kv * hd), kv, hd);
            q = rope(q, cos, sin, hd);
            k = rope(k, cos, sin, hd);
            String kAll = op("Concat", List.of("past_key_values." + l + ".key", k), intAttr("axis", 2));
            String vAll = op("Concat", List.of("past_key_values." + l + ".value", v), intAttr("axis", 2));
            g.addNode(node("Identity", List.of(kAll), "present." + l + ".key"));
            g.addNode(node("Identity", List.of(vAll), "present." + l + ".value"));
            String kRep = repeatKv(kAll, nh / kv, nh, hd), vRep = repeatKv(vAll, nh / kv, nh, hd);
            String scores = op("Mul", List.of(op("MatMul", List.of(q, op("Transpose", List.of(kRep), intsAttr("perm", 0, 1, 3, 2)))),
                    floats(p + "scale", new long[] {}, new float[] {(float) (1 / Math.sqrt(hd))})));
            String probs = op("Softmax", List.of(op("Add", List.of(scores, causalMask(q, kAll)))), intAttr("axis", -1));
            String ctx = op("Reshape", List.of(op("Transpose", List.of(op("MatMul", List.of(probs, vRep))), intsAttr("perm", 0, 2, 1, 3)),
                    ints(p + "ctx_shape", 0, 0, (long) nh * hd)));
            x = op("Add", List.of(x, linear(p + "self_attn.o_proj", ctx, nh * hd, d)));
            String h2 = rmsNorm(p + "post_attention_layernorm", x);
            String gate = linear(p + "mlp.gate_proj", h2, d, s.ffn()), up = linear(p + "mlp.up_proj", h2, d, s.ffn());
            String act = op("Mul", List.of(op("Mul", List.of(gate, op("Sigmoid", List.of(gate)))), up));
            return op("Add", List.of(x, linear(p + "mlp.down_proj", act, s.ffn(), d)));
        }

        /** [B, S, n·hd] -> [B, n, S, hd]. */
        private String heads(String y, int n, int hd) {
            return op("Transpose", List.of(op("Reshape", List.of(y, ints("heads_" + n + "_" + (counter++), 0, 0, n, hd)))), intsAttr("perm", 0, 2, 1, 3));
        }

        /** x·cos + rotate_half(x)·sin, rotate_half(x) = concat(-x2, x1). */
        private String rope(String x, String cos, String sin, int hd) {
            String x1 = op("Slice", List.of(x, ints("r0_" + counter, 0), ints("r1_" + counter, hd / 2), ints("ra_" + counter, 3)));
            String x2 = op("Slice", List.of(x, ints("r2_" + counter, hd / 2), ints("r3_" + counter, hd), ints("rb_" + counter, 3)));
            counter++;
            String rot = op("Concat", List.of(op("Neg", List.of(x2)), x1), intAttr("axis", -1));
            return op("Add", List.of(op("Mul", List.of(x, cos)), op("Mul", List.of(rot, sin))));
        }

        /** [B, kv, T, hd] -> [B, kv·rep, T, hd], each KV head repeated rep times (GQA). */
        private String repeatKv(String c, int rep, int nh, int hd) {
            if (rep == 1) return c;
            String u = op("Unsqueeze", List.of(c, ints("rep_axis_" + counter++, 2)));
            List<String> copies = new ArrayList<>();
            for (int i = 0; i < rep; i++) copies.add(u);
            return op("Reshape", List.of(op("Concat", copies, intAttr("axis", 2)), ints("rep_shape_" + counter++, 0, nh, -1, hd)));
        }

        /** [S, T] additive mask: query i of the chunk (absolute position T - S + i) sees keys 0..T - S + i. */
        private String causalMask(String q, String kAll) {
            String tDim = op("Gather", List.of(op("Shape", List.of(kAll)), ints("t_axis_" + counter++, 2)), intAttr("axis", 0));
            String sDim = op("Gather", List.of(op("Shape", List.of(q)), ints("s_axis_" + counter++, 2)), intAttr("axis", 0));
            String t = op("Squeeze", List.of(tDim, ints("sq0_" + counter++, 0))), sq = op("Squeeze", List.of(sDim, ints("sq1_" + counter++, 0)));
            String one = ints("one_" + counter++), keys = op("Range", List.of(scalar("zero_" + counter++, 0), t, scalar("step_" + counter++, 1)));
            String queries = op("Range", List.of(op("Sub", List.of(t, sq)), t, scalar("step_" + counter++, 1)));
            String later = op("Less", List.of(op("Unsqueeze", List.of(queries, ints("qa_" + counter++, 1))), keys));
            return op("Where", List.of(later, floats("neg_" + counter++, new long[] {}, new float[] {-1e9f}), floats("zero_f" + counter++, new long[] {}, new float[] {0f})));
        }

        private String rmsNorm(String name, String x) throws IOException {
            g.addInitializer(w.constant(name + ".weight", new long[] {s.d()}, 1f));
            if (s.fusedNorm()) {
                return op("SimplifiedLayerNormalization", List.of(x, name + ".weight"), intAttr("axis", -1),
                        OnnxMl.AttributeProto.newBuilder().setName("epsilon").setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(1e-5f).build());
            }
            String ms = op("ReduceMean", List.of(op("Mul", List.of(x, x))), intsAttr("axes", -1), intAttr("keepdims", 1));
            String inv = op("Div", List.of(floats(name + ".one", new long[] {}, new float[] {1f}),
                    op("Sqrt", List.of(op("Add", List.of(ms, floats(name + ".eps", new long[] {}, new float[] {1e-5f})))))));
            return op("Mul", List.of(op("Mul", List.of(x, inv)), name + ".weight"));
        }

        private String linear(String name, String x, int in, int out) throws IOException {
            g.addInitializer(w.random(name + ".weight", new long[] {in, out}, (float) (1 / Math.sqrt(in))));
            return op("MatMul", List.of(x, name + ".weight"));
        }

        private String op(String type, List<String> inputs, OnnxMl.AttributeProto... attrs) {
            String out = "/" + type + "_" + counter++ + "_out0";
            g.addNode(node(type, inputs, out, attrs));
            return out;
        }

        private OnnxMl.NodeProto node(String type, List<String> inputs, String output, OnnxMl.AttributeProto... attrs) {
            return OnnxMl.NodeProto.newBuilder().setOpType(type).setName("/" + type + "_" + counter++).addAllInput(inputs).addOutput(output)
                    .addAllAttribute(List.of(attrs)).build();
        }

        private String ints(String name, long... v) {
            TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(v.length);
            for (long x : v) t.addInt64Data(x);
            g.addInitializer(t);
            return name;
        }

        private String scalar(String name, long v) {
            g.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addInt64Data(v));
            return name;
        }

        private String floats(String name, long[] dims, float[] v) {
            TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
            for (long dim : dims) t.addDims(dim);
            for (float x : v) t.addFloatData(x);
            g.addInitializer(t);
            return name;
        }

        private static OnnxMl.ValueInfoProto value(String name, int type, Object... dims) {
            OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
            for (Object dim : dims) {
                shape.addDim(dim instanceof String p ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(p)
                        : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue((Integer) dim));
            }
            return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                    OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape))).build();
        }
    }
}
