package ai.stamp.compiler.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Temporary files that are renamed into place as outputs. {@link Files#createTempFile} makes owner-only (0600) files
 * on POSIX systems, and a rename keeps that mode, so a model written through one could not be read by another user
 * (a deployment service) although every other file the user writes can. These files are made with
 * {@link Files#createFile} instead, so they get the mode of any new file under the user's umask (0644 under umask 022),
 * the mode the finished output then keeps.
 *
 * <p>Temporary and scratch files (and the demo's temporary work folder) are also registered with
 * {@link #deleteAtExit(Path)}: one shutdown hook deletes whatever is still registered when the JVM exits, Ctrl-C (SIGINT)
 * and SIGTERM included, so an interrupted run leaves nothing behind. {@link QuietDelete#deleteQuietly(Path)} unregisters.
 */
public final class TempFiles {
    private TempFiles() {}

    /**
     * Creates a new empty file {@code PREFIX<random>SUFFIX} in {@code dir} with the umask's default permissions.
     *
     * @param dir    the folder (the output's own, so the final rename stays on one file system)
     * @param prefix the name's start
     * @param suffix the name's end
     * @return the new file
     * @throws IOException when it cannot be created
     */
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

    private static final Set<Path> AT_EXIT = ConcurrentHashMap.newKeySet();
    private static boolean hooked;

    /**
     * Deletes {@code path} (a file, or a folder with everything in it) when the JVM exits, unless {@link #forget} is called first.
     *
     * @param path the file or folder
     */
    public static void deleteAtExit(Path path) {
        synchronized (AT_EXIT) {
            if (!hooked) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> AT_EXIT.forEach(TempFiles::deleteTreeQuietly), "stamp-onnx temp cleanup"));
                hooked = true;
            }
        }
        AT_EXIT.add(path.toAbsolutePath());
    }

    /**
     * {@code path} is gone or has become an output: no longer deleted at exit.
     *
     * @param path the file or folder registered with {@link #deleteAtExit}
     */
    public static void forget(Path path) {
        if (!AT_EXIT.isEmpty()) AT_EXIT.remove(path.toAbsolutePath());
    }

    /**
     * Deletes {@code path} and, when it is a folder, everything in it; failures are ignored. Unregisters it.
     *
     * @param path the file or folder, or null
     */
    public static void deleteTreeQuietly(Path path) {
        if (path == null) return;
        if (Files.isDirectory(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> all = Files.walk(path)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // best effort
                    }
                });
            } catch (IOException | java.io.UncheckedIOException ignored) {
                // best effort
            }
        } else {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // best effort
            }
        }
        forget(path);
    }
}
