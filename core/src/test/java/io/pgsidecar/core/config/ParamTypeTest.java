package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ParamTypeTest {

  @Test
  void sizesUseBinaryUnitsAndPrintInTheLargestExactUnit() {
    ParamType<Long> size = ParamType.size(0, Long.MAX_VALUE);
    assertEquals(8L << 20, size.parse("8MiB"));
    assertEquals(1L << 30, size.parse("1GiB"));
    assertEquals(4096L, size.parse("4096"));
    assertEquals(1536L, size.parse("1536B"));
    assertEquals("8MiB", size.format(8L << 20));
    assertEquals("1536B", size.format(1536L));
    assertEquals("1GiB", size.format(1L << 30));
    assertThrows(IllegalArgumentException.class, () -> size.parse("8MB"));
    assertThrows(IllegalArgumentException.class, () -> size.parse("99999999999TiB"));
    assertThrows(IllegalArgumentException.class, () -> ParamType.size(64, 128).parse("129"));
  }

  @Test
  void durationsReadAndPrintShortUnits() {
    ParamType<Duration> d = ParamType.duration();
    assertEquals(Duration.ofSeconds(30), d.parse("30s"));
    assertEquals(Duration.ofMinutes(10), d.parse("10m"));
    assertEquals(Duration.ofMillis(250), d.parse("250ms"));
    assertEquals("10m", d.format(Duration.ofMinutes(10)));
    assertEquals("90s", d.format(Duration.ofSeconds(90)));
    assertEquals("2h", d.format(Duration.ofHours(2)));
    assertEquals("1d", d.format(Duration.ofDays(1)));
    assertEquals("0s", d.format(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> d.parse("30"));
    assertThrows(IllegalArgumentException.class, () -> d.parse("PT30S"));
  }

  @Test
  void enumsAreWrittenInLowerKebabCase() {
    ParamType<AzureAuth> t = ParamType.enumOf(AzureAuth.class);
    assertEquals(AzureAuth.WORKLOAD_IDENTITY, t.parse("workload-identity"));
    assertEquals("managed-identity", t.format(AzureAuth.MANAGED_IDENTITY));
    assertThrows(IllegalArgumentException.class, () -> t.parse("WORKLOAD_IDENTITY"));
  }

  @Test
  void cronNeedsExactlyFiveFields() {
    ParamType<String> cron = ParamType.cron();
    assertEquals("0 3 * * *", cron.parse("0  3 * * *"));
    assertEquals("*/15 1-5 ? JAN MON-FRI", cron.parse("*/15 1-5 ? JAN MON-FRI"));
    assertThrows(IllegalArgumentException.class, () -> cron.parse("0 0 3 * * *"));
    assertThrows(IllegalArgumentException.class, () -> cron.parse("@daily"));
  }
}
