package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The summary line's group texts: quoted names left out, without an ellipsis that reads as text cut off. */
class StampReportSummaryTest {
    @Test
    void groupTextsLeaveTheNamesOut() {
        assertEquals("second operand is computed at run time (activation x activation, e.g. attention): not a linear layer",
                StampReport.withoutNames("second operand '/attn/Transpose_output_0' is computed at run time (activation x activation,"
                        + " e.g. attention): not a linear layer"));
        assertEquals("excluded by --exclude", StampReport.withoutNames("excluded by --exclude '.*attn.*'"));
        assertEquals("LayerNorm-like Mul/Add is not smoothable", StampReport.withoutNames("LayerNorm-like Mul/Add 'a'/'b' is not smoothable"));
        assertEquals("weight is computed from a tensor, which is also a graph input",
                StampReport.withoutNames("weight 'w' is computed from 'src', which is also a graph input"));
    }
}
