package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The defaults that depend on other options stay defaults through toBuilder(); invalid combinations say why. */
class StampConfigTest {
    @Test
    void theWeightDefaultFollowsTheModeThroughToBuilder() {
        assertEquals(StampConfig.WeightQuant.RTN8, StampConfig.defaults().weights());
        assertEquals(StampConfig.WeightQuant.NONE, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build().weights());
        // a defaulted method is re-derived for the new mode, so transform-only stays the exact (float) check
        assertEquals(StampConfig.WeightQuant.NONE, StampConfig.defaults().toBuilder().mode(StampConfig.Mode.TRANSFORM_ONLY).build().weights());
        StampConfig transformOnly = StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build();
        assertEquals(StampConfig.WeightQuant.RTN8, transformOnly.toBuilder().mode(StampConfig.Mode.STAMP).build().weights());
        // a chosen method is kept
        StampConfig rtn4 = StampConfig.builder().weights(StampConfig.WeightQuant.RTN4).build();
        assertEquals(StampConfig.WeightQuant.RTN4, rtn4.toBuilder().mode(StampConfig.Mode.TRANSFORM_ONLY).build().weights());
        assertEquals(rtn4.toString(), rtn4.toBuilder().build().toString());
    }

    @Test
    void integerEmissionNeedsQuantizedPerChannelWeightsAndActivations() {
        String none = assertThrows(IllegalArgumentException.class,
                () -> StampConfig.builder().weights(StampConfig.WeightQuant.NONE).emit(StampConfig.Emit.INTEGER).build()).getMessage();
        assertTrue(none.contains("--emit integer needs quantized weights"), none);
        String block = assertThrows(IllegalArgumentException.class,
                () -> StampConfig.builder().weightBlock(32).emit(StampConfig.Emit.INTEGER).build()).getMessage();
        assertTrue(block.contains("drop --weight-block"), block);
        String only = assertThrows(IllegalArgumentException.class, () -> StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY)
                .weights(StampConfig.WeightQuant.RTN8).emit(StampConfig.Emit.INTEGER).build()).getMessage();
        assertTrue(only.contains("--mode transform-only"), only);
        assertEquals(StampConfig.Emit.AUTO, StampConfig.defaults().emit());
    }
}
