package io.pgsidecar.core.codec;

import java.io.IOException;

/**
 * A stored object cannot be decoded: it is damaged (checksum or integrity failure, truncated) or
 * the configured keys cannot open it. The message names the object and what to do; callers show
 * it as is and never treat the partial output read so far as a result.
 */
public class CodecException extends IOException {

  public CodecException(String message) {
    super(message);
  }

  public CodecException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The object's bytes are wrong: the same words for every codec, then the codec's detail. */
  static CodecException damaged(String objectKey, String detail, Throwable cause) {
    return new CodecException("object " + objectKey + " is damaged: " + detail
        + "; this stored copy cannot be restored: use another backup or copy of it", cause);
  }
}
