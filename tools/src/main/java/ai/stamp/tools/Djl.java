package ai.stamp.tools;

import java.nio.file.Paths;

/** DJL settings: a cache folder that never needs a home directory, and offline mode (the native library is bundled). */
final class Djl {
    private Djl() {}

    static synchronized void configure() {
        if (isUnset("DJL_CACHE_DIR")) {
            System.setProperty("DJL_CACHE_DIR", Paths.get(System.getProperty("java.io.tmpdir"), "stamp-onnx-djl").toString());
        }
        if (isUnset("ai.djl.offline") && System.getenv("DJL_OFFLINE") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    private static boolean isUnset(String key) {
        String p = System.getProperty(key);
        String e = System.getenv(key);
        return (p == null || p.isBlank()) && (e == null || e.isBlank());
    }
}
