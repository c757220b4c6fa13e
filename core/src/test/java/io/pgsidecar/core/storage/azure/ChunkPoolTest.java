package io.pgsidecar.core.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class ChunkPoolTest {

  @Test
  void keepsAtMostMaxBuffersOfItsSizeAndHandsThemOutAgain() {
    ChunkPool pool = new ChunkPool(1024, 2);
    byte[] a = pool.take();
    byte[] b = pool.take();
    byte[] c = pool.take();
    assertEquals(1024, a.length);
    pool.give(a);
    pool.give(b);
    pool.give(c); // over the limit: left to the collector
    pool.give(new byte[10]); // another size: never kept
    assertEquals(2, pool.kept());
    byte[] again = pool.take();
    assertSame(b, again, "the most recently given back first");
    assertSame(a, pool.take());
    assertEquals(0, pool.kept());
    assertNotSame(a, pool.take(), "a new buffer once the pool is empty");
  }
}
