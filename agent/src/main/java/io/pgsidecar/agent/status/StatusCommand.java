package io.pgsidecar.agent.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgsidecar.agent.cli.support.AgentClient;
import io.pgsidecar.agent.cli.support.CliText;
import io.pgsidecar.agent.cli.support.CommandContext;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.agent.cli.support.OutputOption;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar status}: what a person looks at first. The running agent's {@code /v1/status}
 * (last archived segment, the {@code .ready} backlog, the last and running base backup and dump,
 * any other feature's part such as retention or verification, recent errors) merged with what
 * storage holds ({@link RepositoryStatus}: usage per kind, complete backups, the newest segment
 * and dump, the recoverable window), so that it still answers after an agent restart or while the
 * agent is down. Exit 0 when both answered, 3 when the agent or storage did not (what the other
 * said is still shown).
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show the last archived WAL and its age, the .ready backlog, the last base backup"
        + " and dump, the recoverable window and the storage used per kind.")
public final class StatusCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  /** Parts of /v1/status this command lays out itself; any other part is shown as it comes. */
  private static final List<String> KNOWN = List.of("cluster", "storage", "wal", "backups", "dumps",
      "recoverable", "errors");

  @Spec CommandSpec spec;

  @Mixin OutputOption output;

  @Option(names = "--cluster", paramLabel = "NAME",
      description = "Another cluster's repository (storage only: the agent serves its own).")
  String cluster;

  private final Clock clock;

  public StatusCommand() {
    this(Clock.systemUTC());
  }

  StatusCommand(Clock clock) {
    this.clock = clock;
  }

  @Override
  public Integer call() throws IOException {
    CommandContext context = CommandContext.of(spec);
    PgsidecarConfig config = context.config();
    String name = cluster != null ? cluster : config.cluster();
    boolean own = name.equals(config.cluster());
    Instant now = clock.instant();

    ObjectNode doc = NODES.objectNode();
    doc.put("cluster", name);
    doc.put("time", now.toString());
    ObjectNode agentNode = doc.putObject("agent");
    JsonNode agent = NODES.missingNode();
    if (own) {
      agentNode.put("socket", config.adminSocket().toString());
      try {
        AgentClient.Response r = AgentClient.forCommand(spec).send("GET", "/v1/status", null);
        if (r.status() == 200) {
          agent = JSON.readTree(r.body());
          agentNode.put("reachable", true);
          agentNode.putNull("error");
        } else {
          agentNode.put("reachable", false);
          agentNode.put("error", CliText.refusal(r));
        }
      } catch (IOException e) {
        agentNode.put("reachable", false);
        agentNode.put("error", e.getMessage() + " (is the agent running, and is"
            + " http.admin-socket right?)");
      }
    } else {
      agentNode.putNull("socket");
      agentNode.put("reachable", false);
      agentNode.put("error", "the agent serves cluster '" + config.cluster() + "' only");
    }

    Optional<RepositoryStatus.Snapshot> repo;
    String storageError = null;
    try (Storage storage = StorageFactory.open(config.storage())) {
      repo = Optional.of(new RepositoryStatus(storage,
          new RepositoryLayout(config.storage().prefix(), name)).read());
    } catch (IOException | RuntimeException e) {
      repo = Optional.empty();
      storageError = String.valueOf(e.getMessage());
    }

    doc.set("wal", wal(agent.path("wal"), repo, own ? config.pgdata() : null, now));
    doc.set("backups", backups(agent.path("backups"), repo));
    doc.set("dumps", dumps(agent.path("dumps"), repo));
    // retention, verification and whatever else the agent reports: as the agent says it
    for (Iterator<Map.Entry<String, JsonNode>> it = agent.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> part = it.next();
      if (!KNOWN.contains(part.getKey())) {
        doc.set(part.getKey(), part.getValue());
      }
    }
    doc.set("recoverable", recoverable(doc.path("wal"), repo));
    ObjectNode storageNode = doc.putObject("storage");
    storageNode.put("archive", repo.map(RepositoryStatus.Snapshot::archive).orElse(null));
    storageNode.put("error", storageError);
    repo.ifPresent(r -> r.usage().forEach((kind, u) ->
        storageNode.putObject(kind).put("objects", u.objects()).put("bytes", u.bytes())));
    doc.set("errors", agent.path("errors").isArray() ? agent.path("errors") : NODES.arrayNode());

    int code = agentNode.path("reachable").asBoolean() || !own ? ExitCodes.OK : ExitCodes.UNAVAILABLE;
    code = repo.isEmpty() ? ExitCodes.UNAVAILABLE : code;
    PrintWriter out = spec.commandLine().getOut();
    if (output.json()) {
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc));
    } else {
      StatusText.print(doc, out);
    }
    out.flush();
    return code;
  }

  /** The agent's WAL part, else the newest segment in storage; the backlog, else counted here. */
  private static ObjectNode wal(JsonNode agent, Optional<RepositoryStatus.Snapshot> repo,
      Path pgdata, Instant now) {
    ObjectNode w = NODES.objectNode();
    String segment = agent.path("lastArchivedSegment").asText(null);
    String at = agent.path("lastArchivedAt").asText(null);
    String source = "agent";
    if ((segment == null || at == null) && repo.flatMap(RepositoryStatus.Snapshot::newestSegment).isPresent()) {
      var newest = repo.get().newestSegment().get();
      segment = newest.name().name();
      at = newest.storedAt().toString();
      source = "storage";
    }
    w.put("lastArchivedSegment", segment);
    w.put("lastArchivedAt", at);
    if (at != null) {
      w.put("lastArchivedAgeSeconds", Math.max(0, Duration.between(Instant.parse(at), now).toSeconds()));
    } else {
      w.putNull("lastArchivedAgeSeconds");
    }
    w.put("source", segment == null ? null : source);
    if (agent.path("readyBacklog").isNumber()) {
      w.put("readyBacklog", agent.path("readyBacklog").asInt());
    } else {
      Optional<Integer> counted = countReady(pgdata);
      if (counted.isPresent()) {
        w.put("readyBacklog", counted.get());
      } else {
        w.putNull("readyBacklog");
      }
    }
    return w;
  }

  private static Optional<Integer> countReady(Path pgdata) {
    if (pgdata == null) {
      return Optional.empty();
    }
    Path status = pgdata.resolve("pg_wal/archive_status");
    try (Stream<Path> files = Files.list(status)) {
      return Optional.of((int) files.filter(p -> p.toString().endsWith(".ready")).count());
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The agent's last base backup (since it started), else the newest complete one in storage. */
  private static ObjectNode backups(JsonNode agent, Optional<RepositoryStatus.Snapshot> repo) {
    ObjectNode b = NODES.objectNode();
    JsonNode last = agent.path("last");
    if (last.isObject()) {
      ObjectNode l = ((ObjectNode) last.deepCopy()).put("source", "agent");
      b.set("last", l);
    } else if (repo.isPresent() && !repo.get().backups().isEmpty()) {
      BackupManifest m = repo.get().backups().getLast();
      b.putObject("last").put("id", m.id()).put("label", m.label()).put("result", "success")
          .put("startedAt", m.startTime().toString()).put("finishedAt", m.stopTime().toString())
          .put("rawBytes", m.rawSize()).put("storedBytes", m.storedSize()).put("source", "storage");
    } else {
      b.putNull("last");
    }
    b.set("running", agent.path("running").isObject() ? agent.path("running") : NODES.nullNode());
    b.put("nextScheduledRun", agent.path("nextScheduledRun").asText(null));
    if (repo.isPresent()) {
      b.put("complete", repo.get().backups().size());
    } else {
      b.putNull("complete");
    }
    return b;
  }

  /** The agent's last dump (since it started), else the newest dump folder in storage. */
  private static ObjectNode dumps(JsonNode agent, Optional<RepositoryStatus.Snapshot> repo) {
    ObjectNode d = NODES.objectNode();
    JsonNode last = agent.path("last");
    if (last.isObject()) {
      d.set("last", ((ObjectNode) last.deepCopy()).put("source", "agent"));
    } else if (repo.flatMap(RepositoryStatus.Snapshot::newestDump).isPresent()) {
      RepositoryStatus.DumpEnd e = repo.get().newestDump().get();
      d.putObject("last").put("id", e.id()).put("result", e.complete() ? "success" : "failure")
          .put("finishedAt", e.at().toString()).put("source", "storage");
    } else {
      d.putNull("last");
    }
    d.set("running", agent.path("running").isObject() ? agent.path("running") : NODES.nullNode());
    d.put("nextScheduledRun", agent.path("nextScheduledRun").asText(null));
    return d;
  }

  /** Oldest backup's end to the newest archived WAL (the agent may know a newer one than storage's listing). */
  private static JsonNode recoverable(JsonNode wal, Optional<RepositoryStatus.Snapshot> repo) {
    if (repo.isEmpty() || repo.get().window().isEmpty()) {
      return NODES.nullNode();
    }
    var w = repo.get().window().get();
    ObjectNode r = NODES.objectNode();
    r.put("from", w.firstTime().toString());
    r.put("firstBackup", w.firstBackup());
    String to = w.lastTime().toString();
    String segment = w.lastSegment();
    String at = wal.path("lastArchivedAt").asText(null);
    if (at != null && Instant.parse(at).isAfter(w.lastTime())) {
      to = at;
      segment = wal.path("lastArchivedSegment").asText();
    }
    r.put("to", to);
    r.put("lastSegment", segment);
    // the newest segment may have been stored just before the oldest backup's manifest
    r.put("seconds", Math.max(0, Duration.between(w.firstTime(), Instant.parse(to)).toSeconds()));
    return r;
  }
}
