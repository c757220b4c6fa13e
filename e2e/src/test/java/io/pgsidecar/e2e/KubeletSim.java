package io.pgsidecar.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.pgsidecar.testkit.Waits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Plays a kubelet on this machine, as root: runs the pod of a rendered StatefulSet from unpacked
 * images, each container in a private mount namespace with its image's root file system and the
 * pod's volumes bind-mounted into it, then {@code chroot --userspec} into it. Everything a
 * container runs is read from the rendered object (command, args, env, envFrom, user, mounts,
 * read-only root, probes); the images give the rest (entrypoint, cmd, env, working directory,
 * stop signal). The network is this machine's, shared as between a pod's containers.
 *
 * <p>Persistent volumes (the StatefulSet's claim templates) are directories that outlive a pod;
 * emptyDirs, ConfigMap and Secret volumes are made per pod and removed with it.
 */
final class KubeletSim {

  static final ObjectMapper JSON = new ObjectMapper();
  static final YAMLMapper YAML = new YAMLMapper();

  /** An unpacked image: its root file system and the parts of its config a runtime uses. */
  record Image(Path rootfs, List<String> entrypoint, List<String> cmd, List<String> env,
      String workingDir, String stopSignal) {

    static Image of(Path rootfs, JsonNode config) {
      return new Image(rootfs, strings(config.path("Entrypoint")), strings(config.path("Cmd")),
          strings(config.path("Env")), config.path("WorkingDir").asText(""),
          config.path("StopSignal").asText("SIGTERM"));
    }
  }

  private final Path work;
  private final Map<String, Image> images;
  private final Map<String, Map<String, String>> secrets;

  /**
   * @param work where volumes and logs go
   * @param images image references as the chart renders them, to unpacked images
   * @param secrets the namespace's Secrets: name to keys and values
   */
  KubeletSim(Path work, Map<String, Image> images, Map<String, Map<String, String>> secrets) {
    this.work = work;
    this.images = images;
    this.secrets = secrets;
  }

  /** The persistent volume of claim template {@code claim} of the pod (outlives the pod). */
  Path persistentVolume(String claim) {
    return work.resolve("pv").resolve(claim);
  }

  /** Deletes everything in the volume, as a new PVC would start. */
  void wipePersistentVolume(String claim) throws IOException {
    deleteTree(persistentVolume(claim));
  }

  /**
   * Starts the pod of {@code statefulSet} (replica 0) like a kubelet: init containers in order,
   * each to completion, a native sidecar (init container with restartPolicy Always) started and
   * its startup probe passed before the next one; then the containers, and their readiness probes.
   * Returns once every container with a readiness probe is ready.
   */
  SimPod start(JsonNode statefulSet, List<JsonNode> objects, Duration timeout) throws Exception {
    String podName = statefulSet.path("metadata").path("name").asText() + "-0";
    JsonNode spec = statefulSet.path("spec").path("template").path("spec");
    Path podDir = work.resolve("pods").resolve(podName + "-" + System.nanoTime());
    Files.createDirectories(podDir.resolve("logs"));
    var pod = new SimPod(podName, spec, podDir);
    try {
      pod.makeVolumes(statefulSet, objects);
      for (JsonNode c : spec.path("initContainers")) {
        if ("Always".equals(c.path("restartPolicy").asText())) {
          var sidecar = pod.startContainer(c, true);
          pod.awaitProbe(sidecar, c.path("startupProbe"), "startup");
          pod.watchLiveness(sidecar, c.path("livenessProbe"));
        } else {
          var init = pod.startContainer(c, false);
          if (!init.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("init container " + init.name + " did not finish within "
                + timeout + "\n" + pod.logs());
          }
          if (init.process.exitValue() != 0) {
            throw new IllegalStateException("init container " + init.name + " exited with "
                + init.process.exitValue() + "\n" + pod.logs());
          }
        }
      }
      for (JsonNode c : spec.path("containers")) {
        var container = pod.startContainer(c, false);
        pod.watchLiveness(container, c.path("livenessProbe"));
        pod.watchReadiness(container, c.path("readinessProbe"));
      }
      for (var container : pod.containers) {
        if (container.readinessProbe != null) {
          try {
            waitUntil(timeout, "container " + container.name + " ready", () -> container.ready);
          } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; last probe: " + container.lastProbe
                + "\n" + pod.logs(), e);
          }
        }
      }
      return pod;
    } catch (Throwable e) {
      pod.close();
      throw e;
    }
  }

  /**
   * Starts the pod of one run of {@code cronJob} (its jobTemplate's pod template) the same way:
   * init containers to completion, then its containers; the caller waits for them to exit.
   */
  SimPod startJob(JsonNode cronJob, List<JsonNode> objects, Duration timeout) throws Exception {
    var asWorkload = JSON.createObjectNode();
    asWorkload.set("metadata", cronJob.path("metadata"));
    asWorkload.putObject("spec").set("template", cronJob.at("/spec/jobTemplate/spec/template"));
    return start(asWorkload, objects, timeout);
  }

  /** One running pod. {@link #close()} deletes it: containers stopped in reverse order. */
  final class SimPod implements AutoCloseable {
    final String name;
    private final JsonNode spec;
    private final Path dir;
    private final Map<String, Path> volumes = new LinkedHashMap<>();
    private final Map<String, String> volumeKinds = new LinkedHashMap<>();
    final List<Container> containers = new CopyOnWriteArrayList<>();
    private final List<Thread> probeThreads = new CopyOnWriteArrayList<>();
    private volatile boolean deleting;

    SimPod(String name, JsonNode spec, Path dir) {
      this.name = name;
      this.spec = spec;
      this.dir = dir;
    }

    /** The tail of every container's log, for failure messages. */
    String logs() {
      var sb = new StringBuilder();
      for (var c : containers) {
        sb.append("---- ").append(c.name).append(" (").append(c.process.isAlive() ? "running" : "exited "
            + c.process.exitValue()).append(")\n").append(tail(c.log)).append('\n');
      }
      return sb.toString();
    }

    Container container(String name) {
      return containers.stream().filter(c -> c.name.equals(name)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no container " + name + " in pod " + this.name));
    }

    private int fsGroup() {
      return spec.path("securityContext").path("fsGroup").asInt(0);
    }

    private void makeVolumes(JsonNode statefulSet, List<JsonNode> objects) throws IOException {
      int fsGroup = fsGroup();
      for (JsonNode claim : statefulSet.path("spec").path("volumeClaimTemplates")) {
        String name = claim.path("metadata").path("name").asText();
        Path pv = Files.createDirectories(persistentVolume(name));
        // fsGroup: the volume's root belongs to the group, group-writable, setgid
        chown(pv, 0, fsGroup);
        chmod(pv, "2770");
        volumes.put(name, pv);
        volumeKinds.put(name, "pvc");
      }
      for (JsonNode v : spec.path("volumes")) {
        String name = v.path("name").asText();
        Path path = dir.resolve("volumes").resolve(name);
        Files.createDirectories(path);
        if (v.has("emptyDir")) {
          chown(path, 0, fsGroup);
          chmod(path, "2777");
          volumeKinds.put(name, "emptyDir");
        } else if (v.has("configMap")) {
          String cm = v.path("configMap").path("name").asText();
          JsonNode data = objects.stream()
              .filter(o -> "ConfigMap".equals(o.path("kind").asText())
                  && cm.equals(o.path("metadata").path("name").asText()))
              .findFirst().orElseThrow(() -> new IllegalStateException("no ConfigMap " + cm + " rendered"))
              .path("data");
          writeFiles(path, data.properties().stream()
              .collect(LinkedHashMap::new, (m, e) -> m.put(e.getKey(), e.getValue().asText()), Map::putAll),
              fsGroup);
          volumeKinds.put(name, "configMap");
        } else if (v.has("secret")) {
          String secret = v.path("secret").path("secretName").asText();
          writeFiles(path, secret(secret), fsGroup);
          volumeKinds.put(name, "secret");
        } else {
          throw new IllegalStateException("volume " + name + " of a kind this simulator does not play: " + v);
        }
        volumes.put(name, path);
      }
    }

    private void writeFiles(Path dir, Map<String, String> files, int fsGroup) throws IOException {
      for (var f : files.entrySet()) {
        Path file = dir.resolve(f.getKey());
        Files.writeString(file, f.getValue());
        chown(file, 0, fsGroup);
        chmod(file, "644");
      }
      chmod(dir, "755");
    }

    private Container startContainer(JsonNode c, boolean sidecar) throws IOException {
      String name = c.path("name").asText();
      String ref = c.path("image").asText();
      Image image = images.get(ref);
      if (image == null) {
        throw new IllegalStateException("container " + name + " wants image " + ref + "; known: " + images.keySet());
      }
      // command replaces the image's entrypoint (and drops its cmd); args replace its cmd
      List<String> argv = new ArrayList<>(c.has("command") ? strings(c.path("command")) : image.entrypoint());
      argv.addAll(c.has("args") ? strings(c.path("args")) : c.has("command") ? List.of() : image.cmd());
      Map<String, String> env = env(image, c);
      JsonNode sc = c.path("securityContext");
      JsonNode podSc = spec.path("securityContext");
      int uid = sc.path("runAsUser").asInt(podSc.path("runAsUser").asInt(0));
      int gid = sc.path("runAsGroup").asInt(podSc.path("runAsGroup").asInt(0));
      if (sc.path("runAsNonRoot").asBoolean(podSc.path("runAsNonRoot").asBoolean(false)) && uid == 0) {
        throw new IllegalStateException("container " + name + " has runAsNonRoot and would run as root"
            + " (CreateContainerConfigError)");
      }
      boolean readOnlyRoot = sc.path("readOnlyRootFilesystem").asBoolean(false);
      List<String> mounts = new ArrayList<>();
      for (JsonNode m : c.path("volumeMounts")) {
        Path source = volumes.get(m.path("name").asText());
        if (source == null) {
          throw new IllegalStateException("container " + name + " mounts unknown volume " + m.path("name").asText());
        }
        if (m.has("subPath")) {
          source = source.resolve(m.path("subPath").asText());
        }
        // Resolved inside the image, as a runtime does: /var/run is a symlink to /run in Debian.
        // The runtime makes missing mount points in the container's writable layer; here the
        // unpacked image is this simulator's own copy, so they are made in it.
        String target = inRoot(image.rootfs(), m.path("mountPath").asText());
        Files.createDirectories(Path.of(image.rootfs() + target));
        boolean readOnly = m.path("readOnly").asBoolean(false)
            || List.of("configMap", "secret").contains(volumeKinds.get(m.path("name").asText()));
        mounts.addAll(List.of(source.toString(), target, readOnly ? "ro" : "rw"));
      }
      Path hosts = dir.resolve("hosts");
      Files.writeString(hosts, "127.0.0.1 localhost\n127.0.0.1 " + this.name + "\n");
      Path hostsTarget = Path.of(image.rootfs() + "/etc/hosts");
      if (!Files.exists(hostsTarget)) {
        Files.createFile(hostsTarget);
      }
      mounts.addAll(List.of(hosts.toString(), "/etc/hosts", "ro"));
      var container = new Container(name, c, image, uid, gid, env, dir.resolve("logs").resolve(name + ".log"), sidecar,
          fsGroup());
      List<String> cmd = new ArrayList<>(List.of("/usr/bin/unshare", "-m", "--propagation", "private",
          "/bin/sh", "-c", RUN_SCRIPT, "run-container", image.rootfs().toString(), readOnlyRoot ? "ro" : "rw"));
      cmd.addAll(mounts);
      cmd.add("--");
      cmd.addAll(container.chroot(argv));
      var pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(container.log.toFile()));
      pb.environment().clear();
      pb.environment().putAll(env);
      container.process = pb.start();
      containers.add(container);
      return container;
    }

    private Map<String, String> env(Image image, JsonNode c) {
      Map<String, String> env = new LinkedHashMap<>();
      for (String kv : image.env()) {
        int eq = kv.indexOf('=');
        env.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
      env.put("HOSTNAME", name);
      for (JsonNode from : c.path("envFrom")) {
        if (from.has("secretRef")) {
          env.putAll(secret(from.path("secretRef").path("name").asText()));
        } else if (from.has("configMapRef")) {
          throw new IllegalStateException("envFrom configMapRef is not played by this simulator");
        }
      }
      for (JsonNode e : c.path("env")) {
        String key = e.path("name").asText();
        if (e.has("value")) {
          env.put(key, e.path("value").asText());
        } else if (e.path("valueFrom").has("secretKeyRef")) {
          JsonNode ref = e.path("valueFrom").path("secretKeyRef");
          String value = secret(ref.path("name").asText()).get(ref.path("key").asText());
          if (value != null) {
            env.put(key, value);
          } else if (!ref.path("optional").asBoolean(false)) {
            throw new IllegalStateException("container " + c.path("name").asText() + ": Secret "
                + ref.path("name").asText() + " has no key " + ref.path("key").asText()
                + " (CreateContainerConfigError)");
          }
        } else {
          throw new IllegalStateException("env " + key + " of a kind this simulator does not play: " + e);
        }
      }
      return env;
    }

    private Map<String, String> secret(String name) {
      Map<String, String> s = secrets.get(name);
      if (s == null) {
        throw new IllegalStateException("Secret " + name + " not found (the chart makes none: the test must)");
      }
      return s;
    }

    /** Runs {@code probe} every periodSeconds until it passes, at most failureThreshold times. */
    private void awaitProbe(Container c, JsonNode probe, String kind) throws Exception {
      if (probe.isMissingNode()) {
        return;
      }
      int threshold = probe.path("failureThreshold").asInt(3);
      long period = probe.path("periodSeconds").asLong(10) * 1000;
      Thread.sleep(probe.path("initialDelaySeconds").asLong(0) * 1000);
      for (int i = 0; i < threshold; i++) {
        if (!c.process.isAlive()) {
          throw new IllegalStateException("container " + c.name + " exited with " + c.process.exitValue()
              + " before its " + kind + " probe passed; its log:\n" + tail(c.log));
        }
        if (c.probe(probe)) {
          return;
        }
        Thread.sleep(period);
      }
      throw new IllegalStateException(kind + " probe of container " + c.name + " failed " + threshold
          + " times; its log:\n" + tail(c.log));
    }

    private void watchLiveness(Container c, JsonNode probe) {
      if (!probe.isMissingNode()) {
        watch(c, probe, ok -> {
          if (!ok) {
            c.livenessFailures.add(System.currentTimeMillis());
          }
        });
      }
    }

    private void watchReadiness(Container c, JsonNode probe) {
      if (!probe.isMissingNode()) {
        c.readinessProbe = probe;
        int success = probe.path("successThreshold").asInt(1);
        int failure = probe.path("failureThreshold").asInt(3);
        int[] streak = {0, 0};
        watch(c, probe, ok -> {
          streak[ok ? 0 : 1]++;
          streak[ok ? 1 : 0] = 0;
          if (ok && streak[0] >= success && !c.ready) {
            c.ready = true;
          } else if (!ok && streak[1] >= failure && c.ready) {
            c.ready = false;
            c.unreadyTimes.add(System.currentTimeMillis());
          }
        });
      }
    }

    private void watch(Container c, JsonNode probe, java.util.function.Consumer<Boolean> result) {
      long period = probe.path("periodSeconds").asLong(10) * 1000;
      long delay = probe.path("initialDelaySeconds").asLong(0) * 1000;
      Thread t = Thread.ofVirtual().name("probe-" + c.name).start(() -> {
        try {
          Thread.sleep(delay);
          while (!deleting && c.process.isAlive()) {
            result.accept(c.probe(probe));
            Thread.sleep(period);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      probeThreads.add(t);
    }

    /**
     * Deletes the pod: the containers get their image's stop signal together, then the native
     * sidecars in reverse order, each with terminationGracePeriodSeconds before SIGKILL.
     */
    @Override
    public void close() {
      deleting = true;
      probeThreads.forEach(Thread::interrupt);
      long grace = spec.path("terminationGracePeriodSeconds").asLong(30);
      List<Container> main = containers.stream().filter(c -> !c.sidecar && c.spec != null
          && isMain(c.name)).toList();
      main.forEach(Container::signalStop);
      main.forEach(c -> c.awaitStop(grace));
      List<Container> sidecars = new ArrayList<>(containers.stream().filter(c -> c.sidecar).toList());
      java.util.Collections.reverse(sidecars);
      for (var s : sidecars) {
        s.signalStop();
        s.awaitStop(grace);
      }
      containers.forEach(c -> c.awaitStop(1));
      try {
        deleteTree(dir.resolve("volumes"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private boolean isMain(String container) {
      for (JsonNode c : spec.path("containers")) {
        if (c.path("name").asText().equals(container)) {
          return true;
        }
      }
      return false;
    }
  }

  /** One running container. */
  final class Container {
    final String name;
    final JsonNode spec;
    final Image image;
    final int uid;
    final int gid;
    final Map<String, String> env;
    final Path log;
    final boolean sidecar;
    final int fsGroup;
    Process process;
    volatile boolean ready;
    volatile String lastProbe = "";
    volatile JsonNode readinessProbe;
    final List<Long> unreadyTimes = new CopyOnWriteArrayList<>();
    final List<Long> livenessFailures = new CopyOnWriteArrayList<>();

    Container(String name, JsonNode spec, Image image, int uid, int gid, Map<String, String> env,
        Path log, boolean sidecar, int fsGroup) {
      this.fsGroup = fsGroup;
      this.name = name;
      this.spec = spec;
      this.image = image;
      this.uid = uid;
      this.gid = gid;
      this.env = env;
      this.log = log;
      this.sidecar = sidecar;
    }

    /**
     * The peak resident set (VmHWM, KiB) of this container's process named {@code name} (as in
     * /proc/PID/status, e.g. "java"), -1 when none runs.
     */
    long peakRssKib(String name) throws IOException {
      List<ProcessHandle> tree = new ArrayList<>(List.of(process.toHandle()));
      tree.addAll(process.descendants().toList());
      for (ProcessHandle h : tree) {
        List<String> status;
        try {
          status = Files.readAllLines(Path.of("/proc/" + h.pid() + "/status"));
        } catch (java.nio.file.NoSuchFileException e) {
          continue; // gone meanwhile
        }
        if (status.contains("Name:\t" + name)) {
          for (String line : status) {
            if (line.startsWith("VmHWM:")) {
              return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
          }
        }
      }
      return -1;
    }

    /** chroot into the image as the container's user, in the image's working directory. */
    private List<String> chroot(List<String> argv) {
      List<String> cmd = new ArrayList<>(List.of("/usr/sbin/chroot", "--userspec=" + uid + ":" + gid,
          "--groups=" + gid + "," + fsGroup, image.rootfs().toString()));
      if (!image.workingDir().isEmpty() && !"/".equals(image.workingDir())) {
        cmd.addAll(List.of("/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", image.workingDir()));
      }
      cmd.addAll(argv);
      return cmd;
    }

    /**
     * Runs {@code argv} inside this container like {@code kubectl exec} (or an exec probe): in its
     * mount namespace, chrooted, as its user, with its environment.
     */
    io.pgsidecar.testkit.CommandResult exec(Duration timeout, String... argv) throws IOException, InterruptedException {
      List<String> cmd = new ArrayList<>(List.of("/usr/bin/nsenter", "-t", Long.toString(process.pid()), "-m", "--"));
      cmd.addAll(chroot(List.of(argv)));
      var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().clear();
      pb.environment().putAll(env);
      Process p = pb.start();
      byte[][] bytes = new byte[1][];
      Thread out = Thread.ofVirtual().start(() -> {
        try {
          bytes[0] = p.getInputStream().readAllBytes();
        } catch (IOException e) {
          bytes[0] = ("reading output: " + e).getBytes(StandardCharsets.UTF_8);
        }
      });
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor();
        out.join();
        return new io.pgsidecar.testkit.CommandResult(List.of(argv), 124,
            new String(bytes[0], StandardCharsets.UTF_8) + "\n(timed out after " + timeout + ")");
      }
      out.join();
      return new io.pgsidecar.testkit.CommandResult(List.of(argv), p.exitValue(),
          new String(bytes[0], StandardCharsets.UTF_8));
    }

    /** One probe as the kubelet runs it: httpGet on 127.0.0.1 (2xx/3xx), or exec (exit 0). */
    boolean probe(JsonNode probe) {
      Duration timeout = Duration.ofSeconds(probe.path("timeoutSeconds").asLong(1));
      try {
        if (probe.has("httpGet")) {
          JsonNode get = probe.path("httpGet");
          int port = port(get.path("port"));
          var conn = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + get.path("path").asText("/"))
              .toURL().openConnection();
          conn.setConnectTimeout((int) timeout.toMillis());
          conn.setReadTimeout((int) timeout.toMillis());
          try {
            int code = conn.getResponseCode();
            return code >= 200 && code < 400;
          } finally {
            conn.disconnect();
          }
        }
        if (probe.has("exec")) {
          var result = exec(timeout, strings(probe.path("exec").path("command")).toArray(String[]::new));
          lastProbe = result.exitCode() + ": " + result.output();
          return result.ok();
        }
        throw new IllegalStateException("probe of a kind this simulator does not play: " + probe);
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    /** A port by number or by the name of one of this container's ports. */
    int port(JsonNode port) {
      if (port.isInt()) {
        return port.asInt();
      }
      for (JsonNode p : spec.path("ports")) {
        if (p.path("name").asText().equals(port.asText())) {
          return p.path("containerPort").asInt();
        }
      }
      throw new IllegalStateException("container " + name + " has no port named " + port.asText());
    }

    /** The image's stop signal to the container's main process (PID 1 in a real runtime). */
    private void signalStop() {
      if (!process.isAlive()) {
        return;
      }
      String signal = image.stopSignal().replaceFirst("^SIG", "");
      if ("TERM".equals(signal)) {
        process.destroy();
      } else {
        try {
          new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start().waitFor();
        } catch (IOException e) {
          process.destroy();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    /** Waits for the container to stop; SIGKILL to it and all it started after {@code seconds}. */
    private void awaitStop(long seconds) {
      try {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
          var tree = process.descendants().toList();
          process.destroyForcibly();
          tree.forEach(ProcessHandle::destroyForcibly);
          process.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * The container's start inside its own mount namespace: $1 the image's root, $2 ro or rw (the
   * root file system), then (source, target, ro|rw) triples up to "--", then the chroot command.
   * The image's root is bind-mounted onto itself so it can be remounted read-only for this
   * container alone; the volumes, /proc and /dev go on top.
   */
  private static final String RUN_SCRIPT = """
      set -e
      root=$1; rootmode=$2; shift 2
      /bin/mount --bind "$root" "$root"
      while [ "$1" != -- ]; do
        /bin/mount --bind "$1" "$root$2"
        if [ "$3" = ro ]; then /bin/mount -o remount,bind,ro "$root$2"; fi
        shift 3
      done
      shift
      /bin/mount -t proc proc "$root/proc"
      /bin/mount --rbind /dev "$root/dev"
      if [ "$rootmode" = ro ]; then /bin/mount -o remount,bind,ro "$root"; fi
      exec "$@"
      """;

  /** {@code path} with every symlink resolved inside {@code root} (absolute links relative to it). */
  static String inRoot(Path root, String path) throws IOException {
    List<String> parts = new ArrayList<>(List.of(path.split("/")));
    List<String> resolved = new ArrayList<>();
    int hops = 0;
    while (!parts.isEmpty()) {
      String part = parts.remove(0);
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (!resolved.isEmpty()) {
          resolved.remove(resolved.size() - 1);
        }
        continue;
      }
      Path here = Path.of(root + "/" + String.join("/", resolved) + "/" + part);
      if (Files.isSymbolicLink(here)) {
        if (++hops > 40) {
          throw new IOException("too many symlinks resolving " + path + " in " + root);
        }
        String link = Files.readSymbolicLink(here).toString();
        if (link.startsWith("/")) {
          resolved.clear();
        }
        parts.addAll(0, List.of(link.split("/")));
      } else {
        resolved.add(part);
      }
    }
    return "/" + String.join("/", resolved);
  }

  // ---- images ------------------------------------------------------------------------------

  /** The repository's root (where scripts/chart.sh is), from the test's working directory up. */
  static Path repoRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("scripts/chart.sh"))) {
        return p;
      }
    }
    throw new IllegalStateException("no scripts/chart.sh above " + Path.of("").toAbsolutePath());
  }

  /** The sources the pgsidecar image is built from: a newer one makes the archive stale. */
  private static final List<String> IMAGE_SOURCES = List.of("core/src/main", "agent/src/main",
      "restore-init/src/main", "protocol/src/main", "wal-archiver/src/main", "wal-client/src/main", "container",
      "scripts/image.sh");

  /**
   * The pgsidecar image of target/images/pgsidecar.oci.tar, built by ./scripts/image.sh when
   * missing or older than its sources (with this build's jars when they are newer than the
   * sources), unpacked layer by layer into .cache/pod/, keyed by the manifest's digest.
   */
  static Image pgsidecarImage() throws Exception {
    Path root = repoRoot();
    Path archive = root.resolve("target/images/pgsidecar.oci.tar");
    FileTime newestSource = newest(root, IMAGE_SOURCES);
    if (!Files.exists(archive) || Files.getLastModifiedTime(archive).compareTo(newestSource) < 0) {
      var pb = new ProcessBuilder(root.resolve("scripts/image.sh").toString()).directory(root.toFile())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT);
      Path agentJar = newestMatching(root.resolve("agent/target"), "pgsidecar-agent-");
      // the jars of this build serve when they are newer than the Java sources they come from
      if (agentJar != null && Files.isDirectory(root.resolve("agent/target/lib"))
          && Files.getLastModifiedTime(agentJar).compareTo(newest(root, IMAGE_SOURCES.subList(0, 4))) > 0) {
        pb.environment().put("IMAGE_SKIP_MAVEN", "1");
      }
      System.out.println("pod drill: building the image (./scripts/image.sh"
          + (pb.environment().containsKey("IMAGE_SKIP_MAVEN") ? ", this build's jars)" : ")"));
      int rc = pb.start().waitFor();
      if (rc != 0) {
        throw new IllegalStateException("./scripts/image.sh failed with exit code " + rc);
      }
    }
    Path layout = Files.createTempDirectory("pgsidecar-oci-");
    try {
      run(List.of("tar", "-xf", archive.toString(), "-C", layout.toString(), "index.json"), Duration.ofMinutes(1));
      String manifestDigest = JSON.readTree(layout.resolve("index.json").toFile())
          .path("manifests").path(0).path("digest").asText();
      Path dir = root.resolve(".cache/pod/pgsidecar-" + manifestDigest.replace("sha256:", "").substring(0, 16));
      if (!Files.isDirectory(dir.resolve("rootfs"))) {
        run(List.of("tar", "-xf", archive.toString(), "-C", layout.toString()), Duration.ofMinutes(2));
        JsonNode manifest = JSON.readTree(blob(layout, manifestDigest).toFile());
        Path tmp = Path.of(dir + ".tmp");
        deleteTree(tmp);
        Files.createDirectories(tmp.resolve("rootfs"));
        for (JsonNode layer : manifest.path("layers")) {
          // our layers hold no whiteouts (checked): a plain extraction in order is the union
          run(List.of("tar", "-xzf", blob(layout, layer.path("digest").asText()).toString(),
              "--numeric-owner", "-C", tmp.resolve("rootfs").toString()), Duration.ofMinutes(2));
        }
        try (Stream<Path> files = Files.walk(tmp.resolve("rootfs"))) {
          if (files.anyMatch(p -> p.getFileName().toString().startsWith(".wh."))) {
            throw new IllegalStateException("the image has whiteout files; unpack it with umoci instead");
          }
        }
        Files.copy(blob(layout, manifest.path("config").path("digest").asText()), tmp.resolve("config.json"));
        Files.move(tmp, dir);
      }
      return Image.of(dir.resolve("rootfs"), JSON.readTree(dir.resolve("config.json").toFile()).path("config"));
    } finally {
      deleteTree(layout);
    }
  }

  /**
   * The stand-in for the official postgres:15 image (e2e/pod/postgres-image.sh: Debian's
   * postgresql-15, uid 999, docker-entrypoint.sh), built once into .cache/pod/, keyed by the
   * script and the entrypoint.
   */
  static Image postgresImage() throws Exception {
    Path root = repoRoot();
    Path script = root.resolve("e2e/pod/postgres-image.sh");
    var sha = MessageDigest.getInstance("SHA-256");
    sha.update(Files.readAllBytes(script));
    sha.update(Files.readAllBytes(root.resolve("e2e/pod/docker-entrypoint.sh")));
    String key = HexFormat.of().formatHex(sha.digest()).substring(0, 12);
    Path dir = root.resolve(".cache/pod/postgres-15-" + key);
    if (!Files.isRegularFile(dir.resolve("image.json"))) {
      System.out.println("pod drill: building the postgres image (mmdebstrap, once) into " + dir);
      run(List.of(script.toString(), dir.toString()), Duration.ofMinutes(15));
    }
    return Image.of(dir, JSON.readTree(dir.resolve("image.json").toFile()));
  }

  // ---- the chart ---------------------------------------------------------------------------

  /** ./scripts/chart.sh template with these --set values: the rendered objects. */
  static List<JsonNode> render(List<String> sets) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(repoRoot().resolve("scripts/chart.sh").toString(), "template"));
    for (String s : sets) {
      cmd.addAll(List.of("--set", s));
    }
    String yaml = run(cmd, Duration.ofMinutes(3));
    List<JsonNode> objects = new ArrayList<>();
    try (var docs = YAML.readerFor(JsonNode.class).readValues(new YAMLFactory().createParser(yaml))) {
      while (docs.hasNext()) {
        JsonNode doc = (JsonNode) docs.next();
        if (doc != null && doc.has("kind")) {
          objects.add(doc);
        }
      }
    }
    return objects;
  }

  static JsonNode object(List<JsonNode> objects, String kind) {
    return objects.stream().filter(o -> kind.equals(o.path("kind").asText())).findFirst()
        .orElseThrow(() -> new IllegalStateException("the chart rendered no " + kind));
  }

  // ---- helpers -----------------------------------------------------------------------------

  interface Check {
    boolean ok() throws Exception;
  }

  /** Polls {@code check} every 200 ms until it holds; fails naming {@code what} after {@code timeout}. */
  static void waitUntil(Duration timeout, String what, Check check) {
    Waits.until(timeout, Duration.ofMillis(200), check::ok,
        () -> "timed out after " + timeout + " waiting for " + what);
  }

  static int freePort() throws IOException {
    try (var s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static String run(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
    Path out = Files.createTempFile("kubelet-sim-", ".out");
    try {
      Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile())
          .redirectError(ProcessBuilder.Redirect.appendTo(out.resolveSibling(out.getFileName() + ".err").toFile()))
          .start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", cmd) + " did not finish within " + timeout);
      }
      Path err = out.resolveSibling(out.getFileName() + ".err");
      if (p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n"
            + (Files.exists(err) ? Files.readString(err) : "") + Files.readString(out));
      }
      Files.deleteIfExists(err);
      return Files.readString(out);
    } finally {
      Files.deleteIfExists(out);
    }
  }

  static List<String> strings(JsonNode array) {
    List<String> list = new ArrayList<>();
    array.forEach(n -> list.add(n.asText()));
    return list;
  }

  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log at " + log + ")";
    }
  }

  private static Path blob(Path layout, String digest) {
    return layout.resolve("blobs").resolve(digest.replace(":", "/"));
  }

  private static FileTime newest(Path root, List<String> paths) throws IOException {
    FileTime newest = FileTime.fromMillis(0);
    for (String p : paths) {
      if (!Files.exists(root.resolve(p))) {
        continue;
      }
      try (Stream<Path> files = Files.walk(root.resolve(p))) {
        for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
          FileTime t = Files.getLastModifiedTime(f);
          if (t.compareTo(newest) > 0) {
            newest = t;
          }
        }
      }
    }
    return newest;
  }

  private static Path newestMatching(Path dir, String prefix) throws IOException {
    if (!Files.isDirectory(dir)) {
      return null;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().startsWith(prefix)
              && f.getFileName().toString().endsWith(".jar") && !f.toString().contains("-tests")
              && !f.toString().contains("-sources"))
          .max(Comparator.comparing(f -> f.toFile().lastModified())).orElse(null);
    }
  }

  private static void chown(Path p, int uid, int gid) throws IOException {
    Files.setAttribute(p, "unix:uid", uid);
    Files.setAttribute(p, "unix:gid", gid);
  }

  private static void chmod(Path p, String octal) throws IOException {
    try {
      run(List.of("chmod", octal, p.toString()), Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }
}
