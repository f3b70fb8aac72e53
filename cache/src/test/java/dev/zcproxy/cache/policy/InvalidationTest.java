package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.POLICY;
import static dev.zcproxy.cache.policy.Fixtures.fields;
import static dev.zcproxy.cache.policy.Fixtures.request;
import static dev.zcproxy.cache.policy.Fixtures.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.RequestHead;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class InvalidationTest {

  @DisplayName("POST, PUT, DELETE and PATCH invalidate the target, Location and Content-Location of the same origin,"
      + " RFC 9111 §4.4; other methods (PURGE, unknown ones) never do")
  @ParameterizedTest(name = "[{index}] {0} -> {1} [{2}] -> {3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "POST; 200; -; http://example.com/a",
      "PUT; 201; -; http://example.com/a",
      "DELETE; 204; -; http://example.com/a",
      "PATCH; 302; -; http://example.com/a",
      "FOO; 200; -; -",
      "PURGE; 200; -; -",
      "BAN; 204; -; -",
      "M-SEARCH; 200; -; -",
      "post; 200; -; -",
      "GET; 200; -; -",
      "HEAD; 200; -; -",
      "OPTIONS; 200; -; -",
      "TRACE; 200; -; -",
      "POST; 404; -; -",
      "POST; 500; -; -",
      "POST; 100; -; -",
      "POST; 201; Location: /b; http://example.com/a http://example.com/b",
      "POST; 201; Location: b?x=1; http://example.com/a http://example.com/b?x=1",
      "POST; 200; Content-Location: http://EXAMPLE.com:80/c; http://example.com/a http://example.com/c",
      "POST; 200; Content-Location: /a; http://example.com/a",
      "POST; 200; Location: /b|Content-Location: /c; http://example.com/a http://example.com/b http://example.com/c",
      "POST; 200; Location: http://other.example/b; http://example.com/a",
      "POST; 200; Location: https://example.com/b; http://example.com/a",
      "POST; 200; Location: http://example.com:8080/b; http://example.com/a",
      "POST; 200; Location: //other.example/b; http://example.com/a",
      "POST; 200; Location: http://exa mple.com/; http://example.com/a",
  })
  void invalidations_9111_4_4(String method, int status, String respHeaders, String expected) {
    RequestHead req = request(method);
    List<String> keys = POLICY.invalidations(req, response(status, fields(respHeaders)));
    assertThat(keys).containsExactlyElementsOf(expected == null ? List.of() : Arrays.asList(expected.split(" ")));
  }

  private static final CachePolicy ANY_UNSAFE = anyUnsafe();

  private static CachePolicy anyUnsafe() {
    PolicyConfig d = PolicyConfig.defaults();
    return new CachePolicy(new PolicyConfig(d.heuristicFraction(), d.heuristicMaxSeconds(), d.keepSeconds(),
        d.cdnCacheControl(), d.surrogateControl(), d.maxVariants(), d.maxObjectBytes(), d.setCookie(),
        InvalidateMethods.ANY_UNSAFE));
  }

  @DisplayName("cache.invalidate-methods: any-unsafe also invalidates on methods whose safety is unknown (RFC 9111 §4.4),"
      + " never on the safe ones (RFC 9110 §9.2.1), CONNECT or an error status")
  @ParameterizedTest(name = "[{index}] {0} -> {1} [{2}] -> {3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "POST; 200; -; http://example.com/a",
      "PATCH; 302; -; http://example.com/a",
      "M-SEARCH; 200; -; http://example.com/a",
      "M-SEARCH; 200; Content-Location: /c; http://example.com/a http://example.com/c",
      "M-SEARCH; 200; Location: http://other.example/b; http://example.com/a",
      "PURGE; 200; -; http://example.com/a",
      "FOO; 204; -; http://example.com/a",
      "post; 200; -; http://example.com/a",
      "FOO; 404; -; -",
      "FOO; 500; -; -",
      "GET; 200; -; -",
      "HEAD; 200; -; -",
      "OPTIONS; 200; -; -",
      "TRACE; 200; -; -",
      "CONNECT; 200; -; -",
  })
  void anyUnsafeInvalidations_9111_4_4(String method, int status, String respHeaders, String expected) {
    List<String> keys = ANY_UNSAFE.invalidations(request(method), response(status, fields(respHeaders)));
    assertThat(keys).containsExactlyElementsOf(expected == null ? List.of() : Arrays.asList(expected.split(" ")));
  }

  @Test
  void defaultsInvalidateOnlyTheStandardUnsafeMethods() {
    assertThat(PolicyConfig.defaults().invalidateMethods()).isEqualTo(InvalidateMethods.STANDARD);
    assertThat(InvalidateMethods.STANDARD.invalidates("M-SEARCH")).isFalse();
    assertThat(InvalidateMethods.ANY_UNSAFE.invalidates("")).isFalse();
    assertThat(InvalidateMethods.ANY_UNSAFE.invalidates(null)).isFalse();
  }
}
