package ai.stamp.testmodels;

import static ai.stamp.testmodels.GraphBuilder.intAttr;
import static ai.stamp.testmodels.GraphBuilder.intsAttr;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * Tiny transformer-shaped graphs for before/after tests. Each has the structures the pass must tell
 * apart: linear layers (constant weights), attention MatMuls (activation x activation), a pooled head.
 */
public final class TinyGraphs {
    private TinyGraphs() {}

    /**
     * One pre-norm-free encoder block on x [batch, seq, d] (seq dynamic): Q/K/V projections sharing their
     * input, single-head attention, output projection, residual, a two-layer MLP with Relu, and a head on
     * the first token (Gather index 0) as a pooled classifier. Outputs "hidden" and "pooled".
     * Linear layers: q, k, v, o, fc1, fc2 (6); attention MatMuls: scores, context (2); pooled head: head.
     */
    public static OnnxMl.ModelProto encoderBlock(int opset, int d, long seed) {
        GraphBuilder g = new GraphBuilder(seed);
        g.input("x", "batch", "seq", d);
        float s = (float) (1 / Math.sqrt(d));
        String q = g.op("Add", "q_bias", g.op("MatMul", "q", "x", g.weight("Wq", s, d, d)), g.weight("bq", 0.1f, d));
        String k = g.op("MatMul", "k", "x", g.weight("Wk", s, d, d));
        String v = g.op("MatMul", "v", "x", g.weight("Wv", s, d, d));
        String kt = g.op("Transpose", "kT", List.of(k), intsAttr("perm", 0, 2, 1));
        String scores = g.op("MatMul", "scores", q, kt);
        String scaled = g.op("Mul", "scale", scores, g.initializer("inv_sqrt_d", new float[] {s}));
        String probs = g.op("Softmax", "softmax", List.of(scaled), intAttr("axis", -1));
        String ctx = g.op("MatMul", "context", probs, v);
        String o = g.op("Add", "o_bias", g.op("MatMul", "o", ctx, g.weight("Wo", s, d, d)), g.weight("bo", 0.1f, d));
        String h = g.op("Add", "residual", "x", o);
        String f1 = g.op("Relu", "relu", g.op("MatMul", "fc1", h, g.weight("W1", s, d, 2L * d)));
        String f2 = g.op("MatMul", "fc2", f1, g.weight("W2", (float) (1 / Math.sqrt(2 * d)), 2L * d, d));
        g.node("Add", "out", List.of(h, f2), List.of("hidden"));
        String first = g.node("Gather", "first_token", List.of("hidden", g.scalarInt("idx0", 0)), List.of("first"), intAttr("axis", 1));
        g.node("MatMul", "head", List.of(first, g.weight("Whead", s, d, 3)), List.of("pooled"));
        g.output("hidden", "batch", "seq", d);
        g.output("pooled", "batch", 3);
        return g.model(opset, 8);
    }

    /**
     * A ViT-like graph on a static image [1, 3, 4*gh, 4*gw]: patchify Conv (kernel = stride = 4) → Reshape
     * to [1, c, gh*gw] → Transpose → tokens, a [CLS] token concatenated in front, position embedding,
     * LayerNormalization, Q/K/V + attention + output projection, MLP. Output "tokens" [1, 1+gh*gw, c].
     */
    public static OnnxMl.ModelProto vitLike(int opset, int gh, int gw, int c, long seed) {
        GraphBuilder g = new GraphBuilder(seed);
        g.input("image", 1, 3, 4 * gh, 4 * gw);
        String conv = g.op("Conv", "patchify", List.of("image", g.weight("Wpatch", 0.2f, c, 3, 4, 4), g.weight("bpatch", 0.1f, c)),
                intsAttr("kernel_shape", 4, 4), intsAttr("strides", 4, 4));
        String flat = g.op("Reshape", "flatten", conv, g.ints("flat_shape", 1, c, (long) gh * gw));
        String tokens = g.op("Transpose", "to_tokens", List.of(flat), intsAttr("perm", 0, 2, 1));
        String withCls = g.op("Concat", "cat_cls", List.of(g.weight("cls", 1f, 1, 1, c), tokens), intAttr("axis", 1));
        String x = g.op("Add", "pos", withCls, g.weight("pos_embed", 0.5f, 1, 1L + (long) gh * gw, c));
        String ln = g.op("LayerNormalization", "ln1", List.of(x, g.weight("ln_g", 1f, c), g.weight("ln_b", 0.1f, c)), intAttr("axis", -1));
        float s = (float) (1 / Math.sqrt(c));
        String q = g.op("MatMul", "q", ln, g.weight("Wq", s, c, c));
        String k = g.op("MatMul", "k", ln, g.weight("Wk", s, c, c));
        String v = g.op("MatMul", "v", ln, g.weight("Wv", s, c, c));
        String kt = g.op("Transpose", "kT", List.of(k), intsAttr("perm", 0, 2, 1));
        String probs = g.op("Softmax", "softmax", List.of(g.op("MatMul", "scores", q, kt)), intAttr("axis", -1));
        String ctx = g.op("MatMul", "context", probs, v);
        String h = g.op("Add", "residual", x, g.op("MatMul", "o", ctx, g.weight("Wo", s, c, c)));
        String f1 = g.op("Relu", "relu", g.op("MatMul", "fc1", h, g.weight("W1", s, c, 2L * c)));
        g.node("Add", "out", List.of(h, g.op("MatMul", "fc2", f1, g.weight("W2", s, 2L * c, c))), List.of("tokens"));
        g.output("tokens", 1, 1L + (long) gh * gw, c);
        return g.model(opset, 8);
    }

    /**
     * A graph whose linear layer sits inside both branches of an If, reading a weight from the outer
     * scope: x [seq, d] (rank 2), cond (bool scalar). Output "y" [seq, d].
     */
    public static OnnxMl.ModelProto linearInsideIf(int opset, int d, long seed) {
        GraphBuilder outer = new GraphBuilder(seed);
        outer.input("x", "seq", d);
        outer.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.BOOL_VALUE)
                        .setShape(OnnxMl.TensorShapeProto.newBuilder()))));
        outer.weight("W_outer", (float) (1 / Math.sqrt(d)), d, d);
        OnnxMl.GraphProto then = branch("then", "W_outer", "Relu", d);
        OnnxMl.GraphProto otherwise = branch("else", "W_outer", "Sigmoid", d);
        outer.node("If", "if", List.of("cond"), List.of("y"), GraphBuilder.graphAttr("then_branch", then),
                GraphBuilder.graphAttr("else_branch", otherwise));
        outer.output("y", "seq", d);
        return outer.model(opset, 8);
    }

    private static OnnxMl.GraphProto branch(String prefix, String weight, String act, int d) {
        GraphBuilder b = new GraphBuilder(0);
        String mm = b.node("MatMul", prefix + "_linear", List.of("x", weight), List.of(prefix + "_mm"));
        b.node(act, prefix + "_act", List.of(mm), List.of(prefix + "_y"));
        b.output(prefix + "_y", "seq", d);
        return b.graph().setName(prefix).build();
    }
}
