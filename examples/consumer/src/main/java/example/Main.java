package example;

import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampMetadata;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.io.ModelFile;
import java.nio.file.Path;

/** Compiles IN.onnx with STaMP and writes OUT.onnx: {@code java example.Main IN.onnx OUT.onnx}. */
public final class Main {
    public static void main(String[] args) {
        if (args.length != 2) throw new IllegalArgumentException("usage: Main IN.onnx OUT.onnx");
        Path in = Path.of(args[0]);
        Path out = Path.of(args[1]);

        // read the model (external-data weights stay on disk, beside it)
        LoadedModel model = ModelFile.read(in);
        // the paper's defaults, spelled out: Haar over the sequence, 3 levels, 1 sink token, 8/4-bit tokens, int8 weights
        StampConfig config = StampConfig.builder()
                .transform("haar").levels(3).sinkTokens(1)
                .hiBits(8).loBits(4)
                .weights(StampConfig.WeightQuant.RTN8)
                .build();
        StampResult result = StampCompiler.compile(model, config);
        ModelFile.write(result, model.directory(), out);

        StampReport report = result.report();
        System.out.println(report.summary());
        System.out.println("wrote " + out);

        // so that the build running this example fails when the library stops working
        String layers = ModelFile.read(out).proto().getMetadataPropsList().stream()
                .filter(p -> p.getKey().equals(StampMetadata.LAYERS)).findFirst().orElseThrow().getValue();
        if (report.rewritten().isEmpty() || !layers.contains(report.rewritten().get(0).name())) {
            throw new IllegalStateException("expected rewritten layers in " + out + ", got: " + report.summary());
        }
    }
}
