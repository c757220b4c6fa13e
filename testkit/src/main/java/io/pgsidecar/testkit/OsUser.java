package io.pgsidecar.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs commands as the {@code postgres} OS user and hands directories to it.
 *
 * <p>initdb and the server refuse to run as root, and tests on this kind of machine run as
 * root; so as root every command goes through {@code runuser -u postgres -- env K=V cmd}
 * (env is passed explicitly because runuser may reset PATH), and every directory the server
 * writes is chowned to postgres. As any other user, commands run directly as that user.
 */
final class OsUser {
  static final String POSTGRES = "postgres";
  private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

  private OsUser() {}

  /** Runs {@code command} as postgres in {@code workDir}, waits up to {@code timeout}. */
  static CommandResult run(List<String> command, Map<String, String> env, Path workDir,
      Duration timeout) {
    List<String> full = new ArrayList<>();
    if (ROOT) {
      full.add(Files.isExecutable(Path.of("/usr/sbin/runuser")) ? "/usr/sbin/runuser" : "runuser");
      full.addAll(List.of("-u", POSTGRES, "--", "env"));
      env.forEach((k, v) -> full.add(k + "=" + v));
    }
    full.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    if (!ROOT) {
      pb.environment().putAll(env);
    }
    if (workDir != null) {
      pb.directory(workDir.toFile());
    }
    try {
      Process p = pb.start();
      // Read on another thread so that a chatty command cannot block on a full pipe while
      // we wait for it with a timeout.
      var out = new java.util.concurrent.CompletableFuture<String>();
      Thread.ofVirtual().start(() -> {
        try (InputStream in = p.getInputStream()) {
          out.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
          out.complete("(output unreadable: " + e + ")");
        }
      });
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor();
        return new CommandResult(command, -1,
            "timed out after " + timeout + "\n" + out.getNow("(no output)"));
      }
      return new CommandResult(command, p.exitValue(), out.get(10, TimeUnit.SECONDS));
    } catch (IOException e) {
      throw new UncheckedIOException("could not run " + String.join(" ", full), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("could not read the output of " + command, e);
    }
  }

  /** Gives {@code dir} and everything below it to postgres (no-op unless we are root). */
  static void chownRecursively(Path dir) {
    if (!ROOT) {
      return;
    }
    try {
      UserPrincipalLookupService lookup = dir.getFileSystem().getUserPrincipalLookupService();
      UserPrincipal user = lookup.lookupPrincipalByName(POSTGRES);
      GroupPrincipal group = lookup.lookupPrincipalByGroupName(POSTGRES);
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
          give(d);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
          give(f);
          return FileVisitResult.CONTINUE;
        }

        private void give(Path p) throws IOException {
          PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class,
              LinkOption.NOFOLLOW_LINKS);
          view.setOwner(user);
          view.setGroup(group);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("could not chown " + dir + " to " + POSTGRES
          + " (does the OS user exist? apt-get install postgresql-15 creates it)", e);
    }
  }

  /** Deletes {@code dir} recursively; missing files are fine. */
  static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        try {
          Files.deleteIfExists(p);
        } catch (NoSuchFileException ignored) {
          // the server removed it (socket, pid file) while we walked
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete " + dir, e);
    }
  }
}
