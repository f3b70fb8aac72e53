package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class UnitsTest {
  @ParameterizedTest
  @CsvSource({
    "100B, 100", "100, 100", "0, 0", "1KiB, 1024", "1kib, 1024", "64KiB, 65536",
    "512MiB, 536870912", "1GiB, 1073741824", "10GiB, 10737418240", "1TiB, 1099511627776",
    "'10 GiB', 10737418240", "0.5GiB, 536870912", "1.5KiB, 1536", "-1, -1"
  })
  void sizes(String text, long bytes) {
    assertThat(Units.parseSize(text)).isEqualTo(bytes);
  }

  /** nginx's size suffixes are binary multiples: k, m, g, either case. */
  @ParameterizedTest
  @CsvSource({
    "16k, 16384", "16K, 16384", "1m, 1048576", "1M, 1048576", "10g, 10737418240", "10G, 10737418240",
    "1.5k, 1536", "'512 k', 524288", "0k, 0"
  })
  void nginxSuffixesAreBinaryMultiples(String text, long bytes) {
    assertThat(Units.parseSize(text)).isEqualTo(bytes);
  }

  @ParameterizedTest
  @ValueSource(strings = {"10GB", "10gb", "16kB", "16KB", "1MB", "1TB", "1T", "1t"})
  void siLookingSizesAreRejectedWithAHint(String text) {
    assertThatIllegalArgumentException()
        .isThrownBy(() -> Units.parseSize(text))
        .withMessageStartingWith("is not a size (expected: ")
        .withMessageContaining("did you mean")
        .withMessageContaining("iB?");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "GiB", "lots", "1 2 GiB", "1PiB", "1e3", "99999999999TiB"})
  void nonSizes(String text) {
    assertThatIllegalArgumentException().isThrownBy(() -> Units.parseSize(text));
  }

  @ParameterizedTest
  @CsvSource({
    "0, 0", "250ms, 250", "30s, 30000", "5m, 300000", "1h, 3600000", "1d, 86400000",
    "1h30m, 5400000", "1m500ms, 60500"
  })
  void durations(String text, long millis) {
    assertThat(Units.parseDuration(text)).isEqualTo(Duration.ofMillis(millis));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "30", "s", "5 seconds", "1H", "-5s", "1.5s", "30s ", "1h 30m", "5M"})
  void nonDurations(String text) {
    if (text.equals("30s ")) {
      assertThat(Units.parseDuration(text)).isEqualTo(Duration.ofSeconds(30)); // trimmed
      return;
    }
    assertThatIllegalArgumentException().isThrownBy(() -> Units.parseDuration(text));
  }

  @Test
  void formatting() {
    assertThat(Units.formatDuration(Duration.ZERO)).isEqualTo("0");
    assertThat(Units.formatDuration(Duration.ofSeconds(90))).isEqualTo("90s");
    assertThat(Units.formatDuration(Duration.ofMinutes(2))).isEqualTo("2m");
    assertThat(Units.formatDuration(Duration.ofDays(1))).isEqualTo("1d");
    assertThat(Units.formatDuration(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThat(Units.formatSize(8192)).isEqualTo("8KiB");
    assertThat(Units.formatSize(1L << 30)).isEqualTo("1GiB");
    assertThat(Units.formatSize(1000)).isEqualTo("1000B");
    assertThat(Units.formatSize(0)).isEqualTo("0B");
  }
}
