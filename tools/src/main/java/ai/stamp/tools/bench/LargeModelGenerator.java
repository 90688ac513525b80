package ai.stamp.tools.bench;

import static ai.stamp.ops.OnnxDialect.intAttr;
import static ai.stamp.ops.OnnxDialect.intsAttr;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
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
 * Writes a transformer-shaped ONNX model (opset 17, input {@code x [batch, seq, d]}) whose float32 initializers are
 * all external data in one {@code NAME.onnx.data} file beside the model. Each encoder layer has single-head
 * attention (Q/K/V/out projections d x d, MatMul + Add), a residual Add + LayerNormalization, an MLP d x 4d / 4d x d
 * (MatMul + Add, Relu) and a second residual + LayerNormalization: 12 d^2 weight floats per layer.
 *
 * <p>Weights are generated streaming: a seeded SplitMix64 fills a 4 MiB buffer that is appended to the data file,
 * so the heap never holds a whole weight. Values are uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)).
 *
 * <p>Usage: {@code LargeModelGenerator OUT.onnx [--gb G (3)] [--d D] [--layers L] [--seed S]}. With only {@code --gb},
 * d is 4096 when two layers fit into G GiB, else halved until they do (min 64), and L = ceil(G GiB / layer size).
 */
public final class LargeModelGenerator {
    /** What to generate. */
    public record Spec(int d, int layers, long seed) {
        public Spec {
            if (d < 8 || d % 8 != 0) throw new IllegalArgumentException("d must be a positive multiple of 8, got " + d);
            if (layers < 1) throw new IllegalArgumentException("layers must be >= 1, got " + layers);
        }

        /** Bytes of weights per layer: 12 d^2 floats plus biases and LayerNorm parameters. */
        public long layerBytes() { return 4L * (12L * d * d + 4L * d + 4L * d + 4L * d); }

        public long weightBytes() { return layers * layerBytes(); }

        /** A spec of at least {@code gib} GiB of weights (see the class comment). */
        public static Spec forGigabytes(double gib, long seed) {
            long target = (long) Math.ceil(gib * (1L << 30));
            int d = 4096;
            while (d > 64 && 2 * new Spec(d, 1, seed).layerBytes() > target) d /= 2;
            long per = new Spec(d, 1, seed).layerBytes();
            int layers = (int) Math.max(1, (target + per - 1) / per);
            return new Spec(d, layers, seed);
        }
    }

    /** What was written. */
    public record Generated(Path model, Path data, Spec spec, long dataBytes, long modelBytes) {}

    private LargeModelGenerator() {}

    public static void main(String[] args) {
        Path out = null;
        double gb = 3;
        Integer d = null, layers = null;
        long seed = 42;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--gb" -> gb = Double.parseDouble(args[++i]);
                case "--d" -> d = Integer.parseInt(args[++i]);
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                default -> out = Path.of(args[i]);
            }
        }
        if (out == null) {
            System.err.println("usage: LargeModelGenerator OUT.onnx [--gb G] [--d D] [--layers L] [--seed S]");
            System.exit(2);
        }
        Spec spec = Spec.forGigabytes(gb, seed);
        if (d != null || layers != null) {
            int dd = d != null ? d : spec.d();
            int ll = layers != null ? layers : (int) Math.max(1, (long) Math.ceil(gb * (1L << 30)) / new Spec(dd, 1, seed).layerBytes());
            spec = new Spec(dd, ll, seed);
        }
        long t0 = System.nanoTime();
        Generated g = generate(out, spec);
        System.out.printf("wrote %s (%d bytes) and %s (%d bytes, %.2f GiB): d=%d, %d layers, %.1f s%n", g.model(), g.modelBytes(),
                g.data(), g.dataBytes(), g.dataBytes() / (double) (1L << 30), spec.d(), spec.layers(), (System.nanoTime() - t0) / 1e9);
    }

    /** Writes {@code out} and {@code out.data} (replacing them) as {@code spec} says. */
    public static Generated generate(Path out, Spec spec) {
        Path data = out.resolveSibling(out.getFileName() + ".data");
        String location = data.getFileName().toString();
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ExternalDataWriter w = new ExternalDataWriter(ch, location, spec.seed());
            OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("large_transformer");
            g.addInput(valueInfo("x", "batch", "seq", spec.d()));
            int d = spec.d();
            String x = "x";
            g.addInitializer(w.constant("attn_scale", new long[] {}, (float) (1 / Math.sqrt(d))));
            for (int l = 0; l < spec.layers(); l++) {
                String p = "layer" + l + ".";
                String q = linear(g, w, p + "attn.q", x, d, d);
                String k = linear(g, w, p + "attn.k", x, d, d);
                String v = linear(g, w, p + "attn.v", x, d, d);
                g.addNode(node("Transpose", p + "attn.kT", List.of(k), p + "attn.kT", intsAttr("perm", 0, 2, 1)));
                g.addNode(node("MatMul", p + "attn.scores", List.of(q, p + "attn.kT"), p + "attn.scores"));
                g.addNode(node("Mul", p + "attn.scaled", List.of(p + "attn.scores", "attn_scale"), p + "attn.scaled"));
                g.addNode(node("Softmax", p + "attn.probs", List.of(p + "attn.scaled"), p + "attn.probs", intAttr("axis", -1)));
                g.addNode(node("MatMul", p + "attn.ctx", List.of(p + "attn.probs", v), p + "attn.ctx"));
                String o = linear(g, w, p + "attn.out", p + "attn.ctx", d, d);
                g.addNode(node("Add", p + "attn.residual", List.of(x, o), p + "attn.residual"));
                String h = layerNorm(g, w, p + "ln1", p + "attn.residual", d);
                String up = linear(g, w, p + "mlp.up", h, d, 4 * d);
                g.addNode(node("Relu", p + "mlp.act", List.of(up), p + "mlp.act"));
                String down = linear(g, w, p + "mlp.down", p + "mlp.act", 4 * d, d);
                g.addNode(node("Add", p + "mlp.residual", List.of(h, down), p + "mlp.residual"));
                x = layerNorm(g, w, p + "ln2", p + "mlp.residual", d);
            }
            g.addNode(node("Identity", "output", List.of(x), "y"));
            g.addOutput(valueInfo("y", "batch", "seq", d));
            OnnxMl.ModelProto model = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("stamp-onnx LargeModelGenerator")
                    .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                    .setGraph(g).build();
            try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out))) {
                model.writeTo(os);
            }
            long dataBytes = ch.size();
            return new Generated(out, data, spec, dataBytes, Files.size(out));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    private static String linear(OnnxMl.GraphProto.Builder g, ExternalDataWriter w, String name, String x, int in, int out) throws IOException {
        float bound = (float) (1 / Math.sqrt(in));
        g.addInitializer(w.random(name + ".weight", new long[] {in, out}, bound));
        g.addInitializer(w.random(name + ".bias", new long[] {out}, bound));
        g.addNode(node("MatMul", name + ".matmul", List.of(x, name + ".weight"), name + ".mm"));
        g.addNode(node("Add", name + ".add", List.of(name + ".mm", name + ".bias"), name + ".y"));
        return name + ".y";
    }

    private static String layerNorm(OnnxMl.GraphProto.Builder g, ExternalDataWriter w, String name, String x, int d) throws IOException {
        g.addInitializer(w.constant(name + ".gamma", new long[] {d}, 1f));
        g.addInitializer(w.constant(name + ".beta", new long[] {d}, 0f));
        g.addNode(node("LayerNormalization", name, List.of(x, name + ".gamma", name + ".beta"), name + ".y",
                OnnxMl.AttributeProto.newBuilder().setName("epsilon").setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(1e-5f).build(),
                intAttr("axis", -1)));
        return name + ".y";
    }

    private static OnnxMl.ValueInfoProto valueInfo(String name, String batch, String seq, int d) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder()
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(batch))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam(seq))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    private static OnnxMl.NodeProto node(String op, String name, List<String> inputs, String output, OnnxMl.AttributeProto... attrs) {
        return OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output)
                .addAllAttribute(new ArrayList<>(List.of(attrs))).build();
    }
}
