package ai.stamp.tools;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The built-in English technical prose (resource {@code /ai/stamp/tools/default-text.txt}) validate and demo use. */
public final class DefaultText {
    public static final String RESOURCE = "/ai/stamp/tools/default-text.txt";

    private DefaultText() {}

    public static String get() {
        try (InputStream in = DefaultText.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("resource " + RESOURCE + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
