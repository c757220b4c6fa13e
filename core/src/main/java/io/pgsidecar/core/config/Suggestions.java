package io.pgsidecar.core.config;

import java.util.Collection;
import java.util.Optional;

/** Finds the known name a misspelt one most likely meant ("did you mean ...?"). */
final class Suggestions {

  private Suggestions() {}

  /**
   * The candidate closest to {@code unknown}: one that ends with it after a '.' (a key written
   * without its section, e.g. {@code account}), else the nearest by edit distance when close
   * enough to be a typo (at most 2 edits, or a quarter of the name's length).
   */
  static Optional<String> nearest(String unknown, Collection<String> candidates) {
    for (String c : candidates) {
      if (c.endsWith("." + unknown)) {
        return Optional.of(c);
      }
    }
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String c : candidates) {
      int d = levenshtein(unknown, c);
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    return bestDistance <= Math.max(2, unknown.length() / 4) ? Optional.ofNullable(best) : Optional.empty();
  }

  static int levenshtein(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
