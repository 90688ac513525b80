package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** Exposing inner tensors of a model as extra graph outputs, so a run returns them (calibration, validation). */
public final class GraphOutputs {
    private GraphOutputs() {}

    /**
     * {@code model} with {@code names} appended as main-graph outputs (element type from value_info, else FLOAT; no
     * shape). Names that already are graph outputs or graph inputs are left out: a run returns or takes them anyway.
     */
    public static OnnxMl.ModelProto expose(OnnxMl.ModelProto model, Collection<String> names) {
        OnnxMl.GraphProto g = model.getGraph();
        Set<String> skip = new HashSet<>();
        for (OnnxMl.ValueInfoProto v : g.getOutputList()) skip.add(v.getName());
        for (OnnxMl.ValueInfoProto v : g.getInputList()) skip.add(v.getName());
        Map<String, Integer> types = new HashMap<>();
        for (OnnxMl.ValueInfoProto v : g.getValueInfoList()) {
            if (v.getType().hasTensorType() && v.getType().getTensorType().getElemType() != 0) {
                types.put(v.getName(), v.getType().getTensorType().getElemType());
            }
        }
        OnnxMl.GraphProto.Builder gb = g.toBuilder();
        boolean changed = false;
        for (String n : names) {
            if (!skip.add(n)) continue;
            int elem = types.getOrDefault(n, OnnxMl.TensorProto.DataType.FLOAT_VALUE);
            gb.addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(n)
                    .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elem))));
            changed = true;
        }
        return changed ? model.toBuilder().setGraph(gb).build() : model;
    }
}
