package io.pgsidecar.agent.wal.push;

/**
 * A WAL file that is durable in storage under {@code key}, whose plain content has
 * {@code plainSha256}; {@code alreadyThere} when an earlier push (or a crash-repeated archive)
 * had stored the same content. {@code storedSize} is 0 when unknown. {@code answer} says how the
 * push was answered, which is what its latency depends on.
 */
public record Stored(String name, String key, String plainSha256, long plainSize, long storedSize,
    boolean alreadyThere, Answer answer) {

  /** How a push was answered. */
  public enum Answer {
    /** this push uploaded the file itself (or found it already archived) */
    OWN_UPLOAD("uploaded"),
    /** the look-ahead had made the file durable before the push arrived */
    LOOK_AHEAD("look-ahead"),
    /** the push waited for a look-ahead (or concurrent) upload of the file that was under way */
    JOINED("joined");

    private final String label;

    Answer(String label) {
      this.label = label;
    }

    /** The push answer's {@code answer} field and the words of the agent's "archived NAME (...)" log line. */
    public String label() {
      return label;
    }
  }

  /** Whether the answer came from work done outside this push (look-ahead, joined). */
  public boolean fromLookAhead() {
    return answer != Answer.OWN_UPLOAD;
  }

  Stored answered(Answer how) {
    return new Stored(name, key, plainSha256, plainSize, storedSize, alreadyThere, how);
  }
}
