package io.pgsidecar.core;

import java.util.function.Predicate;

/**
 * What the seeded property tests share: the seed ({@code -Dpgsidecar.fuzz.seed}, a fixed default
 * so that the suite is repeatable), printed so that a failure can be replayed, and shrinking of a
 * failing text input to a short one that still fails.
 */
public final class Fuzz {

  public static final long DEFAULT_SEED = 20261205L;

  private Fuzz() {}

  /** The seed of this run, printed with how to replay it. */
  public static long seed(Class<?> test) {
    long seed = Long.getLong("pgsidecar.fuzz.seed", DEFAULT_SEED);
    System.out.println(test.getSimpleName() + ": seed " + seed + " (replay with -Dpgsidecar.fuzz.seed="
        + seed + ")");
    return seed;
  }

  /** Drops characters (first runs, then single ones) from {@code input} while it still fails. */
  public static String shrink(String input, Predicate<String> fails) {
    String current = input;
    for (int chunk = Math.max(1, current.length() / 2); chunk >= 1; chunk /= 2) {
      boolean progress = true;
      while (progress) {
        progress = false;
        for (int i = 0; i + chunk <= current.length(); i++) {
          String shorter = current.substring(0, i) + current.substring(i + chunk);
          if (fails.test(shorter)) {
            current = shorter;
            progress = true;
            break;
          }
        }
      }
    }
    return current;
  }

  /**
   * A temp directory on /dev/shm when it is writable (a tmpfs): fuzz tests create and fsync
   * thousands of small files, which a shared disk makes slow. Use with
   * {@code @TempDir(factory = Fuzz.MemoryTempDir.class)}.
   */
  public static final class MemoryTempDir implements org.junit.jupiter.api.io.TempDirFactory {
    @Override
    public java.nio.file.Path createTempDirectory(
        org.junit.jupiter.api.extension.AnnotatedElementContext element,
        org.junit.jupiter.api.extension.ExtensionContext context) throws java.io.IOException {
      java.nio.file.Path shm = java.nio.file.Path.of("/dev/shm");
      return java.nio.file.Files.isDirectory(shm) && java.nio.file.Files.isWritable(shm)
          ? java.nio.file.Files.createTempDirectory(shm, "fuzz")
          : java.nio.file.Files.createTempDirectory("fuzz");
    }
  }

  /** {@code s} as a Java string literal, so that a failing input can be pasted into a test. */
  public static String literal(String s) {
    StringBuilder sb = new StringBuilder("\"");
    s.chars().limit(500).forEach(c -> {
      if (c == '"' || c == '\\') {
        sb.append('\\').append((char) c);
      } else if (c < 0x20 || c > 0x7e) {
        sb.append(String.format("\\u%04x", c));
      } else {
        sb.append((char) c);
      }
    });
    return sb.append(s.length() > 500 ? "...\" (" + s.length() + " chars)" : "\"").toString();
  }
}
