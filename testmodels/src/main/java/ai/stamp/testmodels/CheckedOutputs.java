package ai.stamp.testmodels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link OnnxChecker} on every stamp-onnx output a test leaves in its {@code @TempDir} folders, after the test
 * (instance fields) or the class (static fields) and before JUnit deletes them: a test whose rewrite ONNX's full
 * checker rejects fails, whatever the test itself asserted. Registered for the test modules through
 * {@code META-INF/services/org.junit.jupiter.api.extension.Extension} with extension autodetection on.
 */
public final class CheckedOutputs implements AfterEachCallback, AfterAllCallback {
    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        Object instance = context.getTestInstance().orElse(null);
        if (instance != null) check(folders(instance.getClass(), instance, false));
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        check(folders(context.getRequiredTestClass(), null, true));
    }

    private static List<Path> folders(Class<?> type, Object instance, boolean statics) throws IllegalAccessException {
        List<Path> dirs = new ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (!f.isAnnotationPresent(TempDir.class) || Modifier.isStatic(f.getModifiers()) != statics) continue;
                if (f.getType() != Path.class) continue;
                f.setAccessible(true);
                Object value = f.get(statics ? null : instance);
                if (value instanceof Path p && Files.isDirectory(p)) dirs.add(p);
            }
        }
        return dirs;
    }

    private static void check(List<Path> dirs) {
        if (dirs.isEmpty() || !OnnxChecker.enabled()) return;
        List<String> rejected = new ArrayList<>();
        for (Path dir : dirs) {
            for (Path model : models(dir)) {
                Optional<String> problem = OnnxChecker.problemIfRewritten(model);
                problem.ifPresent(p -> rejected.add(dir.relativize(model) + ": " + p));
            }
        }
        if (!rejected.isEmpty()) {
            throw new AssertionError("onnx.checker (full_check) rejects " + rejected.size() + " rewritten model(s) the test wrote: "
                    + String.join("; ", rejected));
        }
    }

    private static List<Path> models(Path dir) {
        try (Stream<Path> walk = Files.walk(dir, 8)) {
            return walk.filter(p -> p.getFileName().toString().endsWith(".onnx") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
