package ai.stamp.compiler.rewrite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.ops.HaarSequence;
import ai.stamp.ops.MixedPrecisionQdq;
import ai.stamp.ops.SequenceLayout;
import ai.stamp.ops.StampDomain;
import ai.stamp.ops.StampOp;
import ai.stamp.ops.TokenPrecision;
import ai.stamp.testmodels.TinyGraphs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/** The model-local functions a rewrite collects: once each, at the model's opset, in first-use order. */
class FunctionRegistryTest {
    private static OnnxMl.ModelProto model(int opset) { return TinyGraphs.encoderBlock(opset, 8, 1); }

    private static List<OnnxMl.FunctionProto> functions(FunctionRegistry r) {
        return StreamSupport.stream(r.functions().spliterator(), false).toList();
    }

    private static List<String> names(FunctionRegistry r) {
        return functions(r).stream().map(OnnxMl.FunctionProto::getName).toList();
    }

    /** An op that delegates to {@code inner} but counts, and may alter, the functions it builds. */
    private static final class Spy implements StampOp {
        final StampOp inner;
        final UnaryOperator<OnnxMl.FunctionProto> alter;
        final List<Integer> builtAt = new ArrayList<>();

        Spy(StampOp inner, UnaryOperator<OnnxMl.FunctionProto> alter) {
            this.inner = inner;
            this.alter = alter;
        }

        @Override public String opName() { return inner.opName(); }
        @Override public String functionName() { return inner.functionName(); }
        @Override public List<String> inputs() { return inner.inputs(); }
        @Override public List<String> outputs() { return inner.outputs(); }
        @Override public String describe() { return inner.describe(); }

        @Override
        public OnnxMl.FunctionProto function(int opset) {
            builtAt.add(opset);
            return alter.apply(inner.function(opset));
        }
    }

    @Test
    void aFreshRegistryIsEmpty() {
        FunctionRegistry r = new FunctionRegistry(model(17));
        assertTrue(r.isEmpty());
        assertEquals(List.of(), functions(r));
        assertEquals(Map.of(), r.uses());
    }

    @Test
    void eachFunctionIsBuiltAndListedOnceAndEveryCallIsCounted() {
        FunctionRegistry r = new FunctionRegistry(model(17));
        Spy haar = new Spy(new HaarSequence(3, 1), UnaryOperator.identity());
        for (int i = 0; i < 3; i++) r.register(haar);
        r.register(MixedPrecisionQdq.INSTANCE);
        r.register(new MixedPrecisionQdq()); // another instance, same function
        r.register(new HaarSequence(3, 1));  // ditto
        assertFalse(r.isEmpty());
        assertEquals(List.of(17), haar.builtAt, "the body is built on first use only");
        assertEquals(List.of("HaarSequence_l3_s1", "MixedPrecisionQdq"), names(r));
        assertEquals(Map.of("HaarSequence_l3_s1", 4, "MixedPrecisionQdq", 2), r.uses());
    }

    @Test
    void differentAttributeValuesAreDifferentFunctions() {
        FunctionRegistry r = new FunctionRegistry(model(17));
        r.register(new HaarSequence(3, 1));
        r.register(new HaarSequence(2, 1));
        r.register(new HaarSequence(3, 0));
        assertEquals(List.of("HaarSequence_l3_s1", "HaarSequence_l2_s1", "HaarSequence_l3_s0"), names(r));
        assertEquals(Map.of("HaarSequence_l3_s1", 1, "HaarSequence_l2_s1", 1, "HaarSequence_l3_s0", 1), r.uses());
    }

    @Test
    void functionsAreListedInFirstUseOrder() {
        FunctionRegistry r = new FunctionRegistry(model(17));
        TokenPrecision tp = new TokenPrecision(SequenceLayout.haar1d(3, 1), 8, 4, 0);
        List<StampOp> calls = List.of(tp, new HaarSequence(3, 1), MixedPrecisionQdq.INSTANCE, new HaarSequence(3, 1), tp,
                new HaarSequence(1, 0), MixedPrecisionQdq.INSTANCE);
        calls.forEach(r::register);
        assertEquals(List.of(tp.functionName(), "HaarSequence_l3_s1", "MixedPrecisionQdq", "HaarSequence_l1_s0"), names(r));
        assertEquals(Map.of(tp.functionName(), 2, "HaarSequence_l3_s1", 2, "MixedPrecisionQdq", 2, "HaarSequence_l1_s0", 1), r.uses());
    }

    @Test
    void functionsAreWrittenAtTheModelsDefaultOpset() {
        for (int opset : new int[] {11, 13, 17, 21}) {
            FunctionRegistry r = new FunctionRegistry(model(opset));
            assertEquals(opset, r.opset());
            StampOp[] ops = {new HaarSequence(2, 1), MixedPrecisionQdq.INSTANCE, new TokenPrecision(SequenceLayout.haar1d(2, 1), 8, 4, 0)};
            for (StampOp op : ops) r.register(op);
            List<OnnxMl.FunctionProto> fs = functions(r);
            assertEquals(ops.length, fs.size());
            for (int i = 0; i < ops.length; i++) {
                OnnxMl.FunctionProto f = fs.get(i);
                assertEquals(StampDomain.NAME, f.getDomain());
                assertEquals(List.of(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset).build()), f.getOpsetImportList(),
                        f.getName() + " at opset " + opset);
                assertEquals(ops[i].function(opset), f);
            }
        }
    }

    @Test
    void theDefaultOpsetIsFoundAmongOtherDomainsAndUnderItsLongName() {
        OnnxMl.ModelProto m = model(17).toBuilder().clearOpsetImport()
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("ai.onnx").setVersion(14))
                .build();
        FunctionRegistry r = new FunctionRegistry(m);
        assertEquals(14, r.opset());
        r.register(MixedPrecisionQdq.INSTANCE);
        assertEquals(14, functions(r).get(0).getOpsetImport(0).getVersion());
        assertEquals("", functions(r).get(0).getOpsetImport(0).getDomain());
    }

    @Test
    void aFunctionWithAnotherNameIsRejected() {
        FunctionRegistry r = new FunctionRegistry(model(17));
        Spy renamed = new Spy(new HaarSequence(3, 1), f -> f.toBuilder().setName("HaarSequence_l9_s9").build());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.register(renamed));
        assertEquals("op HaarSequence built function ai.stamp.HaarSequence_l9_s9, expected HaarSequence_l3_s1", e.getMessage());
        assertTrue(r.isEmpty());
        assertEquals(List.of(), functions(r));
    }

    @Test
    void aFunctionInAnotherDomainIsRejected() {
        FunctionRegistry r = new FunctionRegistry(model(17));
        r.register(MixedPrecisionQdq.INSTANCE);
        Spy defaultDomain = new Spy(new HaarSequence(3, 1), f -> f.toBuilder().setDomain("").build());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.register(defaultDomain));
        assertEquals("op HaarSequence built function .HaarSequence_l3_s1, expected HaarSequence_l3_s1", e.getMessage());
        Spy otherDomain = new Spy(new HaarSequence(3, 1), f -> f.toBuilder().setDomain("com.example").build());
        e = assertThrows(IllegalStateException.class, () -> r.register(otherDomain));
        assertTrue(e.getMessage().contains("com.example.HaarSequence_l3_s1"), e.getMessage());
        assertEquals(List.of("MixedPrecisionQdq"), names(r), "the rejected functions are not added");
    }

    @Test
    void usesIsASnapshotThatCannotBeChanged() {
        FunctionRegistry r = new FunctionRegistry(model(17));
        r.register(MixedPrecisionQdq.INSTANCE);
        Map<String, Integer> before = r.uses();
        r.register(MixedPrecisionQdq.INSTANCE);
        assertEquals(Map.of("MixedPrecisionQdq", 1), before);
        assertEquals(Map.of("MixedPrecisionQdq", 2), r.uses());
        assertThrows(UnsupportedOperationException.class, () -> before.put("x", 1));
    }
}
