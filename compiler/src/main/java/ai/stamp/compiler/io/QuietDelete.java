package ai.stamp.compiler.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Deleting temporary and scratch files where a failure to delete must not hide the real outcome. */
public final class QuietDelete {
    private QuietDelete() {}

    /**
     * Deletes {@code p} if it exists (null: nothing) and unregisters it from {@link TempFiles#deleteAtExit}; a failure is
     * ignored (the file is stray, never the output).
     *
     * @param p the file, or null
     */
    public static void deleteQuietly(Path p) {
        if (p == null) return;
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: a stray temp or scratch file is harmless
        }
        TempFiles.forget(p);
    }
}
