package ai.stamp.compiler.rewrite;

/** What a {@link Rule} made of one node: a plan to carry out, a refusal with its reason, or nothing to say. */
public sealed interface Match<P> {
    /** The rule will rewrite the node as {@code plan} says. */
    record Planned<P>(P plan) implements Match<P> {}

    /** The rule looked at the node and leaves it alone, for {@code refusal}'s reason (reported). */
    record Refused<P>(Refusal refusal) implements Match<P> {}

    /** The node is not the kind the rule rewrites (not reported). */
    record NotApplicable<P>() implements Match<P> {}

    static <P> Match<P> planned(P plan) { return new Planned<>(plan); }

    static <P> Match<P> refused(Refusal.Code code, String detail) { return new Refused<>(new Refusal(code, detail)); }

    static <P> Match<P> notApplicable() { return new NotApplicable<>(); }
}
