package io.pgsidecar.agent.dump;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.io.DigestingInputStream;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.storage.Storage;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A decoded object of a dump with its running checksum, checked against dump.json at the end. */
record DecodedObject(BufferedInputStream in, DigestingInputStream digest, DumpManifest.Entry entry)
  implements AutoCloseable {
  @Override
  public void close() throws IOException {
    in.close();
  }

  /** Reads what is left and fails unless size and SHA-256 match dump.json. */
  void verifyToEnd() throws IOException {
    verifyToEnd("nothing was restored: pick another dump");
  }

  void verifyToEnd(String consequence) throws IOException {
    in.transferTo(OutputStream.nullOutputStream());
    String sha = digest.sha256Hex();
    if (digest.size() != entry.rawSize() || !sha.equals(entry.plainSha256())) {
      throw JobException.verificationFailed(entry.key() + " decoded to " + digest.size() + " bytes with SHA-256 "
          + sha + " but dump.json says " + entry.rawSize() + " bytes with SHA-256 "
          + entry.plainSha256() + "; the stored object is damaged: " + consequence);
    }
  }

  private static final byte[] MAGIC = "PGDMP".getBytes(StandardCharsets.US_ASCII);

  /** Opens {@code entry} from {@code storage}, decoded; {@code what} names it in errors. */
  static DecodedObject open(Storage storage, CodecPipeline pipeline, DumpManifest.Entry entry,
      String what) throws IOException {
    InputStream stored = storage.open(entry.key()).orElseThrow(() -> new IOException(
        "the " + what + " " + entry.key() + " listed in dump.json is missing from "
            + storage.describe() + "; the dump is damaged, pick another one"));
    try {
      DigestingInputStream digest = new DigestingInputStream(pipeline.decode(stored, entry.codec(), entry.key()));
      return new DecodedObject(new BufferedInputStream(digest, 1 << 16), digest, entry);
    } catch (IOException | RuntimeException e) {
      stored.close();
      throw e;
    }
  }

  /** Decodes the first bytes: a wrong key or a foreign object fails here, before any change. */
  void checkMagic() throws IOException {
    in.mark(MAGIC.length);
    byte[] head = in.readNBytes(MAGIC.length);
    in.reset();
    if (!Arrays.equals(head, MAGIC)) {
      throw JobException.verificationFailed(entry.key() + " does not decode to a pg_dump custom-format archive"
          + " (no PGDMP header); the object is damaged or not a pgsidecar dump");
    }
  }
}
