package io.pgsidecar.agent.http;

import io.pgsidecar.core.config.ConfigException;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Who may connect to a unix socket: its group and mode, applied right after binding (a socket's
 * mode otherwise follows the umask). The hook socket takes {@code http.socket-group} and
 * {@code http.socket-mode}, so that an agent running as another user than PostgreSQL (root on a
 * host, another uid in a pod) still lets {@code postgres} archive; the admin socket is 0600, the
 * agent's own user (and root) only.
 *
 * @param group the group to give the socket to, empty to keep the agent's own
 * @param groupName the configured name, for messages
 * @param mode the permissions
 */
public record SocketAccess(Optional<GroupPrincipal> group, String groupName,
    Set<PosixFilePermission> mode) {

  /** The admin socket: the agent's user only. */
  public static final SocketAccess ADMIN = new SocketAccess(Optional.empty(), "",
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));

  /**
   * The hook socket's access from {@code http.socket-group} and {@code http.socket-mode}; a
   * group this system does not know is a {@link ConfigException}, before anything listens.
   */
  public static SocketAccess forHookSocket(PgsidecarConfig config) {
    Set<PosixFilePermission> mode = mode(config.http().socketMode());
    Optional<String> name = config.http().socketGroup();
    if (name.isEmpty()) {
      return new SocketAccess(Optional.empty(), "", mode);
    }
    try {
      return new SocketAccess(Optional.of(FileSystems.getDefault().getUserPrincipalLookupService()
          .lookupPrincipalByGroupName(name.get())), name.get(), mode);
    } catch (UserPrincipalNotFoundException e) {
      throw new ConfigException(List.of("http.socket-group: there is no group '" + name.get()
          + "' on this system (see /etc/group); set it to the group of PostgreSQL's user"
          + " (e.g. postgres) or its numeric id, or leave it unset to keep the agent's own group"));
    } catch (IOException e) {
      throw new ConfigException(List.of("http.socket-group: cannot look up group '" + name.get()
          + "': " + e.getMessage()));
    }
  }

  /** Parses {@code 0660} or {@code 660} (validated by the config loader) into permissions. */
  static Set<PosixFilePermission> mode(String octal) {
    int bits = Integer.parseInt(octal, 8);
    PosixFilePermission[] order = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE,
        PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.OWNER_READ};
    Set<PosixFilePermission> out = EnumSet.noneOf(PosixFilePermission.class);
    for (int i = 0; i < order.length; i++) {
      if ((bits & (1 << i)) != 0) {
        out.add(order[i]);
      }
    }
    return out;
  }

  /**
   * Gives {@code socket} its group, then its mode. Not being allowed to give it the group
   * (the agent is neither root nor a member) is a {@link ConfigException} too.
   */
  public void applyTo(Path socket) throws IOException {
    if (group.isPresent()) {
      try {
        Files.getFileAttributeView(socket, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .setGroup(group.get());
      } catch (FileSystemException e) {
        throw new ConfigException(List.of("http.socket-group: cannot give the socket " + socket
            + " to group '" + groupName + "' (" + e.getReason() + "); the agent must run as root"
            + " or as a member of that group"));
      }
    }
    Files.setPosixFilePermissions(socket, mode);
  }

  @Override
  public String toString() {
    return (groupName.isEmpty() ? "the agent's group" : "group " + groupName) + ", mode "
        + java.nio.file.attribute.PosixFilePermissions.toString(mode);
  }
}
