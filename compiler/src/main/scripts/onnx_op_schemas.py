"""Writes compiler/src/main/resources/ai/stamp/compiler/ir/onnx-op-schemas.tsv, the operator schemas of the default
ONNX domain (every version) that ai.stamp.compiler.ir.OpSchemas reads to check a model's nodes as ONNX Runtime does.

    python3 compiler/src/main/scripts/onnx_op_schemas.py > compiler/src/main/resources/ai/stamp/compiler/ir/onnx-op-schemas.tsv

One line per schema version: op, since_version, min/max inputs, min/max outputs, the formal inputs and outputs
(type string and option: s single, o optional, v variadic, h heterogeneous variadic), the type constraints
(param=allowed|allowed) and the attributes (name:TYPE:r required or o optional). Schemas of opsets past 21 are
frozen once released, so regenerating with a newer onnx adds lines and changes none the compiler uses.
"""
import onnx
from onnx import defs

OPTION = {
    defs.OpSchema.FormalParameterOption.Single: "s",
    defs.OpSchema.FormalParameterOption.Optional: "o",
    defs.OpSchema.FormalParameterOption.Variadic: "v",
}


def params(formal):
    out = []
    for p in formal:
        opt = OPTION[p.option]
        if opt == "v" and not p.is_homogeneous:
            opt = "h"
        out.append(p.type_str + "~" + opt)
    return ",".join(out)


def main():
    print("# onnx " + onnx.__version__ + " operator schemas, default domain; written by compiler/src/main/scripts/onnx_op_schemas.py")
    rows = []
    for s in defs.get_all_schemas_with_history():
        if s.domain not in ("", "ai.onnx"):
            continue
        constraints = ";".join(c.type_param_str + "=" + "|".join(sorted(c.allowed_type_strs)) for c in s.type_constraints)
        attributes = ",".join(
            name + ":" + a.type.name + ":" + ("r" if a.required else "o") for name, a in sorted(s.attributes.items()))
        rows.append((s.name, s.since_version, "\t".join([
            s.name, str(s.since_version), str(s.min_input), str(s.max_input), str(s.min_output), str(s.max_output),
            params(s.inputs), params(s.outputs), constraints, attributes])))
    for _, _, line in sorted(rows):
        print(line)


if __name__ == "__main__":
    main()
