package dev.zcproxy.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AdminGuardTest {
  private static final String TOKEN = "0123456789abcdef0123";
  private static final String HOST = "127.0.0.1:8079";

  @ParameterizedTest(name = "[{index}] {0} auth={1} origin={2} site={3} -> {4}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      // reads are open, with or without a token, from anywhere
      "GET; -; -; -; 0",
      "HEAD; -; http://evil.example; cross-site; 0",
      // mutating requests need the token
      "POST; -; -; -; 401",
      "POST; Bearer wrong-token-0123456789; -; -; 401",
      "POST; Bearer 0123456789abcdef012; -; -; 401",
      "POST; Bearer 0123456789abcdef01234; -; -; 401",
      "POST; Basic MDEyMzQ1Njc4OWFiY2RlZjAxMjM=; -; -; 401",
      "POST; Bearer 0123456789abcdef0123; -; -; 0",
      "POST; bearer   0123456789abcdef0123 ; -; -; 0",
      "PURGE; Bearer 0123456789abcdef0123; -; -; 0",
      "PURGE; -; -; -; 401",
      "DELETE; -; -; -; 401",
      // a browser page elsewhere cannot use it, even with the token in hand
      "POST; Bearer 0123456789abcdef0123; http://evil.example; -; 403",
      "POST; Bearer 0123456789abcdef0123; null; -; 403",
      "POST; Bearer 0123456789abcdef0123; http://127.0.0.1:3000; same-site; 403",
      "POST; Bearer 0123456789abcdef0123; -; cross-site; 403",
      "POST; -; http://evil.example; cross-site; 403",
      // the listener's own page, and a user typing the URL
      "POST; Bearer 0123456789abcdef0123; http://127.0.0.1:8079; same-origin; 0",
      "POST; Bearer 0123456789abcdef0123; -; none; 0",
  })
  void decides(String method, String auth, String origin, String site, int status) {
    AdminGuard.Verdict v = new AdminGuard(TOKEN).check(method, auth, origin, site, HOST);
    assertThat(v.status()).isEqualTo(status);
    if (status != 0) {
      assertThat(v.error()).isNotBlank().doesNotContain(TOKEN);
    }
  }

  @ParameterizedTest
  @CsvSource({"POST", "PURGE", "PUT"})
  void withoutATokenMutatingRequestsAreRefusedNamingTheKey(String method) {
    AdminGuard guard = new AdminGuard("");
    assertThat(guard.hasToken()).isFalse();
    AdminGuard.Verdict v = guard.check(method, "Bearer anything-at-all-here", null, null, HOST);
    assertThat(v.status()).isEqualTo(403);
    assertThat(v.error()).contains("admin.token", "ZCPROXY_ADMIN_TOKEN");
    assertThat(guard.check("GET", null, null, null, HOST).allowed()).isTrue();
  }
}
