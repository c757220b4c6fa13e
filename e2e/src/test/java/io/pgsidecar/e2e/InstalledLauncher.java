package io.pgsidecar.e2e;

import io.pgsidecar.walarchiver.WalArchiver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;

/**
 * The real {@code bin/wal-archiver} in the image layout ({@code bin/} + {@code lib/wal-archiver.jar})
 * under a directory the postgres user can read but not write (so no class-data archive is made
 * during a test), at a path with a space, a quote and a percent sign, as an operator may install
 * it. {@link #conf} gives the command the way postgresql.conf must hold it.
 */
final class InstalledLauncher {

  final Path home;

  private InstalledLauncher(Path home) {
    this.home = home;
  }

  static InstalledLauncher install(Path parent) throws IOException, java.net.URISyntaxException {
    Path home = Files.createDirectories(parent.resolve("wal archiver's 100%"));
    Files.createDirectories(home.resolve("bin"));
    Files.createDirectories(home.resolve("lib"));
    Files.copy(Path.of("..").toAbsolutePath().normalize().resolve("bin/wal-archiver"),
        home.resolve("bin/wal-archiver"));
    // the launcher library bin/wal-archiver sources (its Java finder)
    Files.createDirectories(home.resolve("bin/lib"));
    Files.copy(Path.of("..").toAbsolutePath().normalize().resolve("bin/lib/launch.sh"),
        home.resolve("bin/lib/launch.sh"));
    Path classes = Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Path jar = home.resolve("lib/wal-archiver.jar");
    if (Files.isRegularFile(classes)) {
      Files.copy(classes, jar);
    } else {
      try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
          var files = Files.walk(classes)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          out.putNextEntry(new ZipEntry(classes.relativize(f).toString()));
          Files.copy(f, out);
          out.closeEntry();
        }
      }
    }
    for (Path p = home; p.startsWith(parent.getParent()) && !p.equals(p.getRoot()); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    for (Path p : List.of(home.resolve("bin"), home.resolve("bin/lib"), home.resolve("lib"))) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Files.setPosixFilePermissions(home.resolve("bin/wal-archiver"), PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
    return new InstalledLauncher(home);
  }

  Path launcher() {
    return home.resolve("bin/wal-archiver");
  }

  /**
   * {@code "<launcher>" <rest>} as the value of archive_command / restore_command: the path in
   * double quotes for the shell (it holds a '), a literal % doubled for PostgreSQL.
   */
  String conf(String rest) {
    return "\"" + launcher().toString().replace("%", "%%") + "\" " + rest;
  }

  /** The same as a postgresql.conf line: the value in single quotes, a ' inside doubled. */
  static String confLine(String name, String value) {
    return name + " = '" + value.replace("'", "''") + "'";
  }

  record Result(int exit, String stderr) {}

  /** Runs the launcher as root with {@code args}. */
  Result run(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(launcher().toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_"));
    Process p = pb.start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("wal-archiver did not exit within 120 s");
    }
    return new Result(p.exitValue(), err);
  }
}
