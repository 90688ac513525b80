package ai.stamp.ops;

/** The custom-op domain every inserted node lives in. */
public final class StampDomain {
    /** ONNX domain of all stamp-onnx ops; its presence in a model marks it as already rewritten. */
    public static final String NAME = "ai.stamp";
    /** Version of the domain written into the model's opset_import. */
    public static final int VERSION = 1;
    /** Lowest default-domain opset the function bodies can be written in (Pad with a pads input, Range). */
    public static final int MIN_OPSET = 11;
    /** IR version that model-local functions need (FunctionProto in ModelProto.functions). */
    public static final int MIN_IR_FOR_FUNCTIONS = 8;

    private StampDomain() {}
}
