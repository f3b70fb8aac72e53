package dev.zcproxy.cache.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CacheControlTest {

  @DisplayName("max-age parsing, RFC 9111 §1.2.2, §4.2.1, §5.2")
  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @CsvSource(delimiter = ';', value = {
      "max-age=60; 60",
      "MAX-AGE=60; 60",
      "max-age=\"60\"; 60",
      "max-age=003600; 3600",
      "max-age=0; 0",
      "max-age=2147483648; 2147483648",
      "max-age=99999999999; 2147483648",
      "max-age=-1; -2",
      "max-age=1.5; -2",
      "max-age=3600.0; -2",
      "max-age=a3600; -2",
      "max-age=3600a; -2",
      "max-age='3600'; -2",
      "max-age=; -2",
      "max-age; -2",
      "max-age= 3600; -2",
      "max-age =3600; -1",
      "no-store; -1",
      "max-age=60, max-age=1; 60",
      "max-age=1, max-age=60; 1",
      "extension=\"max-age=3600\", max-age=1; 1",
      "max-age=1, extension=\"max-age=3600\"; 1",
      "foo=\"a,b\", max-age=5; 5",
  })
  void maxAgeParsing_9111_5_2(String field, long expected) {
    assertThat(CacheControl.parse(List.of(field)).seconds("max-age")).isEqualTo(expected);
  }

  @Test
  @DisplayName("directives span field lines; the first occurrence wins, RFC 9111 §4.2.1")
  void firstOccurrenceAcrossLines_9111_4_2_1() {
    CacheControl cc = CacheControl.parse(List.of("max-age=1800", "max-age=1, no-cache"));
    assertThat(cc.seconds("max-age")).isEqualTo(1800);
    assertThat(cc.hasBare("no-cache")).isTrue();
  }

  @Test
  @DisplayName("quoted-string arguments are unescaped and list field names, RFC 9111 §5.2.2.4, §5.2.2.7")
  void qualifiedFieldNames_9111_5_2_2_7() {
    CacheControl cc = CacheControl.parse(List.of("private=\"Set-Cookie, X-A\", no-cache=\"X-\\B\", public"));
    assertThat(cc.fieldNames("private")).containsExactly("set-cookie", "x-a");
    assertThat(cc.fieldNames("no-cache")).containsExactly("x-b");
    assertThat(cc.hasBare("public")).isTrue();
    assertThat(cc.fieldNames("public")).isEmpty();
  }

  @DisplayName("CDN-Cache-Control is a Structured Field dictionary| invalid fields are ignored, RFC 9213 §2.1")
  @ParameterizedTest(name = "[{index}] {0} -> max-age {1}, valid {2}")
  @CsvSource(delimiter = '|', value = {
      "max-age=3600| 3600| true",
      "foobar, max-age=3600| 3600| true",
      "max-age=99999999999| 2147483648| true",
      "max-age=\"10000\"| -1| true",
      "max-age=10000, &&&&&| -1| false",
      "max-age =100| -1| false",
      "max-age= 100| -1| false",
      "MaX-aGe=3600| -1| false",
      "max-age=3600,| -1| false",
      "max-age=-5, no-store| -1| true",
      "'  '| -1| false",
      "none| -1| true",
      "max-age=60;foo=bar, private=\"x\"| 60| true",
      "max-age=1.5| -1| true",
  })
  void structuredDictionary_9213_2_1(String field, long maxAge, boolean valid) {
    CacheControl cc = CacheControl.parseStructured(List.of(field.equals("'  '") ? "  " : field));
    assertThat(cc != null).isEqualTo(valid);
    if (cc != null) {
      assertThat(cc.seconds("max-age")).isEqualTo(maxAge);
    }
  }

  @Test
  void structuredDictionaryKeepsStringAndBooleanDirectives_9213_2_1() {
    CacheControl cc = CacheControl.parseStructured(List.of("private=\"set-cookie\", no-store, public=?0", "no-cache"));
    assertThat(cc.fieldNames("private")).containsExactly("set-cookie");
    assertThat(cc.hasBare("no-store")).isTrue();
    assertThat(cc.has("public")).isFalse();
    assertThat(cc.hasBare("no-cache")).isTrue();
  }
}
