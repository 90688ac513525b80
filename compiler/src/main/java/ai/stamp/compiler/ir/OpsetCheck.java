package ai.stamp.compiler.ir;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.ops.StampDomain;

/** What model versions the pass can write into, checked before anything is rewritten. */
public final class OpsetCheck {
    /** Highest default-domain opset the function bodies were written and tested for. */
    public static final int MAX_OPSET = 21;
    /** Highest IR version this build's protobuf schema knows (onnx-ml.proto IR 10). */
    public static final long MAX_IR = 10;

    private OpsetCheck() {}

    /** The model's default-domain ("" or "ai.onnx") opset. */
    /**
     * Two opset imports of one domain (e.g. ("", 13) and ("", 22), which onnx.checker accepts) are refused: ONNX Runtime
     * resolves such a model at the later version, so ops written for the first one would not load.
     */
    static void requireOneImportPerDomain(OnnxMl.ModelProto model, String where) {
        java.util.Map<String, Long> seen = new java.util.LinkedHashMap<>();
        for (OnnxMl.OperatorSetIdProto o : model.getOpsetImportList()) {
            String domain = o.getDomain().equals("ai.onnx") ? "" : o.getDomain();
            Long before = seen.putIfAbsent(domain, o.getVersion());
            if (before != null) {
                throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, where + " imports the " + (domain.isEmpty() ? "default" : "'" + domain + "'")
                        + " domain twice (opset " + before + " and " + o.getVersion() + "), which ONNX Runtime resolves to one of them:"
                        + " re-export it with one opset_import per domain");
            }
        }
    }

    public static int defaultOpset(OnnxMl.ModelProto model) {
        for (OnnxMl.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) return (int) o.getVersion();
        }
        return -1;
    }

    public static void requireSupported(OnnxMl.ModelProto model, String where) {
        requireOneImportPerDomain(model, where);
        int opset = defaultOpset(model);
        if (opset < 0) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, where + " imports no default-domain opset");
        }
        if (opset < StampDomain.MIN_OPSET || opset > MAX_OPSET) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, where + " uses opset " + opset
                    + "; stamp-onnx writes ops for opsets " + StampDomain.MIN_OPSET + ".." + MAX_OPSET
                    + " (convert the model with onnx.version_converter first)");
        }
        if (model.getIrVersion() > MAX_IR) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, where + " has IR version " + model.getIrVersion()
                    + "; stamp-onnx reads IR up to " + MAX_IR);
        }
        for (OnnxMl.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().equals(StampDomain.NAME)) {
                throw new StampException(StampException.Kind.ALREADY_REWRITTEN, where + " already contains " + StampDomain.NAME
                        + " ops: it was rewritten by stamp-onnx before; start from the original model");
            }
        }
    }
}
