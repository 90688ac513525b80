package ai.stamp.tools;

import dev.langchain4j.model.embedding.onnx.OnnxEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import java.nio.file.Path;

/**
 * What a LangChain4j user runs, in the child JVM of {@link LangChain4jCompatibilityTest}: args TOKENIZER SENTENCE
 * MODEL...; prints the jar ONNX Runtime was loaded from, then per model one line with the embedding of SENTENCE.
 */
public final class LangChain4jEmbed {
    private LangChain4jEmbed() {}

    public static void main(String[] args) {
        System.out.println("onnxruntime: " + ai.onnxruntime.OrtEnvironment.class.getProtectionDomain().getCodeSource().getLocation());
        for (int i = 2; i < args.length; i++) {
            OnnxEmbeddingModel model = new OnnxEmbeddingModel(Path.of(args[i]), Path.of(args[0]), PoolingMode.MEAN);
            float[] v = model.embed(args[1]).content().vector();
            StringBuilder sb = new StringBuilder();
            for (float f : v) sb.append(f).append(' ');
            System.out.println(sb.toString().strip());
        }
    }
}
