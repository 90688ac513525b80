# The server behind ai.stamp.testmodels.OnnxChecker: reads one request per line, "ALL<TAB>path" or
# "REWRITTEN<TAB>path", and answers one line per request: OK, SKIP (REWRITTEN and the file is not a stamp-onnx
# output: it does not parse, or it lacks the ai.stamp.config metadata) or FAIL followed by onnx.checker's message on
# one line.
import sys

import onnx
from onnx import checker, defs

_P = defs.OpSchema.FormalParameter
_OPT = defs.OpSchema.FormalParameterOption.Optional
_FLOATS = ["tensor(float)", "tensor(float16)", "tensor(double)", "tensor(bfloat16)"]


def _norm_attributes():
    return [defs.OpSchema.Attribute(name, kind, "", required=False) for name, kind in
            (("axis", defs.OpSchema.AttrType.INT), ("epsilon", defs.OpSchema.AttrType.FLOAT), ("stash_type", defs.OpSchema.AttrType.INT))]


def register_onnxruntime_default_domain_ops():
    """ONNX Runtime's own default-domain schemas that real exports use: LayerNormalization before opset 17 and
    SimplifiedLayerNormalization (what ORT's transformer optimizer writes), so that ORT-valid models check."""
    constraints = [("T", _FLOATS, ""), ("U", ["tensor(float)", "tensor(double)", "tensor(bfloat16)"], ""), ("V", _FLOATS, "")]
    schemas = [
        defs.OpSchema("LayerNormalization", "", 1, inputs=[_P("X", "T"), _P("Scale", "V"), _P("B", "V", param_option=_OPT)],
                      outputs=[_P("Y", "V"), _P("Mean", "U", param_option=_OPT), _P("InvStdDev", "U", param_option=_OPT)],
                      type_constraints=constraints, attributes=_norm_attributes()),
        defs.OpSchema("SimplifiedLayerNormalization", "", 1, inputs=[_P("X", "T"), _P("scale", "V")],
                      outputs=[_P("Y", "V"), _P("inv_std_var", "U", param_option=_OPT)],
                      type_constraints=constraints, attributes=_norm_attributes()),
    ]
    for s in schemas:
        try:
            defs.register_schema(s)
        except Exception:  # already registered (a newer onnx may define it)
            pass


def untyped(graph):
    """Names of the graph's (and its bodies') inputs and outputs that lack a type or a tensor shape."""
    found = []
    for v in list(graph.input) + list(graph.output):
        if not v.HasField("type") or (v.type.HasField("tensor_type") and not v.type.tensor_type.HasField("shape")):
            found.append(graph.name + ":" + v.name)
    for node in graph.node:
        for a in node.attribute:
            for body in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                found += untyped(body)
    return found


register_onnxruntime_default_domain_ops()
print("READY onnx " + onnx.__version__, flush=True)
for line in sys.stdin:
    which, _, path = line.rstrip("\n").partition("\t")
    try:
        try:
            model = onnx.load(path, load_external_data=False)
        except Exception:
            if which == "REWRITTEN":  # stamp-onnx never writes a file protobuf cannot parse: a test's own bad input
                print("SKIP", flush=True)
                continue
            raise
        if which == "REWRITTEN" and not any(p.key == "ai.stamp.config" for p in model.metadata_props):
            print("SKIP", flush=True)
            continue
        # the path, not the loaded model: external data and models past 2 GB are checked from the file
        checker.check_model(path, full_check=True)
        print("OK", flush=True)
    except Exception as e:  # every failure is an answer, the server keeps serving
        where = ""
        if "is required but missing" in str(e):
            where = " (inputs/outputs without a type or shape: " + ", ".join(untyped(model.graph)) + ")"
        print("FAIL " + type(e).__name__ + ": " + " ".join(str(e).split())[:4000] + where, flush=True)
