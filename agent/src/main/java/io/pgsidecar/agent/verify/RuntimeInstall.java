package io.pgsidecar.agent.verify;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * {@code pgsidecar-install-runtime DIR} (container/bin): copies what the {@code pgsidecar} CLI
 * needs from the image ({@code /opt/pgsidecar}: the jlinked JRE, the jars) into {@code DIR}, an
 * emptyDir another container mounts, and writes {@code DIR/bin/pgsidecar}, the image's launcher
 * with its paths moved to {@code DIR}. The chart's drill CronJob does this in an init container,
 * so the drill runs in the postgres image, which has PostgreSQL's server programs. The
 * class-data archive is left out (it is tied to the image's paths; the CLI starts without it).
 * The copy needs glibc and bash in the target image (the official Debian-based postgres images
 * have both). A plain main class: no framework starts for a file copy.
 */
public final class RuntimeInstall {

  private RuntimeInstall() {}

  /** args: the image's pgsidecar home (/opt/pgsidecar) and the target directory. */
  public static void main(String[] args) {
    if (args.length != 2 || args[1].isBlank()) {
      System.err.println("usage: pgsidecar-install-runtime DIR (copies the pgsidecar CLI's"
          + " runtime into DIR; run DIR/bin/pgsidecar)");
      System.exit(2);
    }
    try {
      Path launcher = install(Path.of(args[0]), Path.of(args[1]));
      System.out.println("installed " + launcher);
    } catch (IOException | RuntimeException e) {
      System.err.println("pgsidecar-install-runtime: cannot install the runtime into " + args[1]
          + ": " + e + "; the directory must be writable (an emptyDir) with room for ~130 MB");
      System.exit(1);
    }
  }

  /** Copies {@code home}'s JRE and jars into {@code dir}; returns the launcher it wrote. */
  static Path install(Path home, Path dir) throws IOException {
    Path source = home.resolve("bin/pgsidecar");
    if (!Files.isRegularFile(source) || !Files.isDirectory(home.resolve("jre"))) {
      throw new IllegalArgumentException(home + " is no pgsidecar home (no bin/pgsidecar or jre/)");
    }
    Files.createDirectories(dir.resolve("bin"));
    copyTree(home.resolve("jre"), dir.resolve("jre"));
    copyTree(home.resolve("lib"), dir.resolve("lib"));
    if (Files.isDirectory(home.resolve("bin/lib"))) { // the launcher sources its JVM flags from there
      copyTree(home.resolve("bin/lib"), dir.resolve("bin/lib"));
    }
    Files.deleteIfExists(dir.resolve("lib/pgsidecar.aot"));
    String text = Files.readString(source, StandardCharsets.UTF_8)
        .replace("/opt/pgsidecar/", dir.toAbsolutePath() + "/");
    Path tmp = dir.resolve("bin/.pgsidecar.tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path launcher = dir.resolve("bin/pgsidecar");
    Files.move(tmp, launcher, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return launcher;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    Files.walkFileTree(from, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
        Files.createDirectories(to.resolve(from.relativize(d).toString()));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
        if (f.getFileName().toString().endsWith(".aot")) {
          return FileVisitResult.CONTINUE;
        }
        Path target = to.resolve(from.relativize(f).toString());
        if (a.isSymbolicLink()) {
          Files.deleteIfExists(target);
          Files.createSymbolicLink(target, Files.readSymbolicLink(f));
        } else {
          Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING,
              StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        }
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
