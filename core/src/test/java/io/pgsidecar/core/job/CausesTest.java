package io.pgsidecar.core.job;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class CausesTest {

  @Test
  void anIoFailureOrAnUncheckedOneIsThrownAsItIs() {
    IOException io = new IOException("storage said no");
    assertSame(io, assertThrows(IOException.class, () -> Causes.rethrow(new ExecutionException(io))));
    IllegalStateException ise = new IllegalStateException("bad state");
    assertSame(ise, assertThrows(IllegalStateException.class,
        () -> Causes.rethrow(new ExecutionException(ise))));
  }

  @Test
  void anyOtherCauseIsReturnedForTheCallerToWrap() throws IOException {
    Exception other = new Exception("checked, not I/O");
    assertSame(other, Causes.rethrow(new ExecutionException(other)));
  }
}
