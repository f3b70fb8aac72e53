package dev.zcproxy.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.Headers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequestCheckTest {
  static RequestCheck.Verdict check(String version, String uri, String... headers) {
    return RequestCheck.check(version, uri, Headers.of(headers));
  }

  static int status(RequestCheck.Verdict v) {
    return v instanceof RequestCheck.Reject r ? r.status() : 200;
  }

  @ParameterizedTest(name = "TE \"{0}\" -> {1}")
  @CsvSource(delimiter = '|', value = {
      "chunked|200", "Chunked|200", "gzip, chunked|501", "xchunked|501", "gzip|400", "chunked, identity|400",
      "chunked, chunked|400", "identity|400", "chunked;q=1|400", "chunked x|400", "' chunked'|400", "''|400"})
  void transferCodings(String te, int expected) {
    assertThat(status(check("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", te))).isEqualTo(expected);
  }

  @Test
  void framingThatCannotBeTrustedIsRejected() {
    assertThat(status(check("HTTP/1.0", "/", "Transfer-Encoding", "chunked"))).isEqualTo(400);
    assertThat(status(check("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", "chunked", "Content-Length", "3"))).isEqualTo(400);
    assertThat(status(check("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"))).isEqualTo(400);
  }

  @ParameterizedTest(name = "CL \"{0}\" -> {1}")
  @CsvSource(delimiter = '|', value = {"5|200", "005|200", "5, 5|200", "+5|400", "5, 6|400", "5x|400", "-1|400", "''|400",
      "1k|400", "99999999999999999999|400"})
  void contentLengths(String cl, int expected) {
    assertThat(status(check("HTTP/1.1", "/", "Host", "h", "Content-Length", cl))).isEqualTo(expected);
  }

  @Test
  void twoDifferingContentLengthFieldsAreRejected() {
    assertThat(status(check("HTTP/1.1", "/", "Host", "h", "Content-Length", "5", "Content-Length", "6"))).isEqualTo(400);
    RequestCheck.Ok ok = (RequestCheck.Ok) check("HTTP/1.1", "/", "Host", "h", "Content-Length", "5", "Content-Length", "5");
    assertThat(ok.bodyLength()).isEqualTo(5);
  }

  @ParameterizedTest(name = "Host \"{0}\" valid={1}")
  @CsvSource(delimiter = '|', value = {"h|true", "example.com:8080|true", "[::1]:80|true", "127.0.0.1|true",
      "a, b|false", "a/x@b|false", "a@b|false", "h:|false", "h:99999|false", "h:8x|false", "[zz]|false", ":80|false"})
  void hosts(String host, boolean valid) {
    assertThat(RequestCheck.validAuthority(host)).isEqualTo(valid);
  }

  @Test
  void hostRules() {
    assertThat(status(check("HTTP/1.1", "/"))).isEqualTo(400);
    assertThat(status(check("HTTP/1.1", "/", "Host", "a", "Host", "b"))).isEqualTo(400);
    assertThat(check("HTTP/1.0", "/")).isEqualTo(new RequestCheck.Ok(0, null, "/"));
    assertThat(check("HTTP/1.1", "/x", "Host", "")).isEqualTo(new RequestCheck.Ok(0, null, "/x"));
  }

  @Test
  void anAbsoluteFormTargetNamesTheAuthorityAndIsForwardedInOriginForm() {
    assertThat(check("HTTP/1.1", "http://Other.Example:8080/p?q=1", "Host", "h"))
        .isEqualTo(new RequestCheck.Ok(0, "other.example:8080", "/p?q=1"));
    assertThat(check("HTTP/1.1", "http://o.example", "Host", "h")).isEqualTo(new RequestCheck.Ok(0, "o.example", "/"));
    assertThat(check("HTTP/1.1", "http://o.example?q", "Host", "h")).isEqualTo(new RequestCheck.Ok(0, "o.example", "/?q"));
    assertThat(status(check("HTTP/1.1", "http://user@o.example/", "Host", "h"))).isEqualTo(400);
    assertThat(status(check("HTTP/1.1", "ftp://o.example/", "Host", "h"))).isEqualTo(400);
  }

  @Test
  void aChunkedBodyHasNoDeclaredLength() {
    RequestCheck.Ok ok = (RequestCheck.Ok) check("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", "chunked");
    assertThat(ok.chunked()).isTrue();
    assertThat(ok.hasBody()).isTrue();
  }
}
