package io.pgsidecar.core.config;

import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * One configuration key declared as data: its dotted name, the environment variable derived from
 * it, its type, default, whether it is a secret, a libpq variable it falls back to, a one-line
 * description, and where its effective value sits in {@link PgsidecarConfig} (for
 * {@code config show}). {@link ConfigParameters} lists every one of them; the loader, the
 * printer and docs/configuration.md all work from that list.
 *
 * @param key dotted key, lower-kebab-case segments: {@code storage.azure.block-size}
 * @param type parser, formatter and the phrase for errors
 * @param defaultText default in the same text form a user writes (parsed by {@code type}); empty
 *     when the key has no default
 * @param defaultNote how the default is described in the reference when it is computed
 * @param secret never printed, never echoed in errors, only read from the environment
 * @param libpqFallback libpq environment variable used when the key is not set (PGHOST...)
 * @param description one line for docs/configuration.md
 * @param read the effective value in a loaded config: the value, an Optional, or a List
 */
public record Param<T>(String key, ParamType<T> type, Optional<String> defaultText,
    Optional<String> defaultNote, boolean secret, Optional<String> libpqFallback, String description,
    Function<PgsidecarConfig, ?> read) {

  /** Prefix of every variable that sets a key. */
  public static final String ENV_PREFIX = "PGSIDECAR_";

  static <T> Param<T> of(String key, ParamType<T> type, String description,
      Function<PgsidecarConfig, ?> read) {
    return new Param<>(key, type, Optional.empty(), Optional.empty(), false, Optional.empty(),
        description, read);
  }

  Param<T> defaultValue(String text) {
    return new Param<>(key, type, Optional.of(text), defaultNote, secret, libpqFallback, description, read);
  }

  Param<T> computedDefault(String note) {
    return new Param<>(key, type, defaultText, Optional.of(note), secret, libpqFallback, description, read);
  }

  Param<T> asSecret() {
    return new Param<>(key, type, defaultText, defaultNote, true, libpqFallback, description, read);
  }

  Param<T> fallback(String libpqVariable) {
    return new Param<>(key, type, defaultText, defaultNote, secret, Optional.of(libpqVariable),
        description, read);
  }

  /** The environment variable of this key: {@code PGSIDECAR_} + key upper-cased, '.' and '-' as '_'. */
  public String envVar() {
    return envVar(key);
  }

  public static String envVar(String key) {
    return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }
}
