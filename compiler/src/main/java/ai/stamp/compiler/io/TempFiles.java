package ai.stamp.compiler.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Temporary files that are renamed into place as outputs. {@link Files#createTempFile} makes owner-only (0600) files
 * on POSIX systems, and a rename keeps that mode, so a model written through one could not be read by another user
 * (a deployment service) although every other file the user writes can. These files are made with
 * {@link Files#createFile} instead, so they get the mode of any new file under the user's umask (0644 under umask 022),
 * the mode the finished output then keeps.
 */
public final class TempFiles {
    private TempFiles() {}

    /** Creates a new empty file {@code PREFIX<random>SUFFIX} in {@code dir} with the umask's default permissions. */
    public static Path createBeside(Path dir, String prefix, String suffix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            String random = Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
            try {
                return Files.createFile(dir.resolve(prefix + random + suffix));
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) throw e;
            }
        }
    }
}
