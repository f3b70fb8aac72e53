package dev.zcproxy.cache.policy;

import static dev.zcproxy.cache.policy.Fixtures.T0;
import static dev.zcproxy.cache.policy.Fixtures.URI;
import static dev.zcproxy.cache.policy.Fixtures.at;
import static dev.zcproxy.cache.policy.Fixtures.date;
import static dev.zcproxy.cache.policy.Fixtures.entry;
import static dev.zcproxy.cache.policy.Fixtures.get;
import static dev.zcproxy.cache.policy.Fixtures.request;
import static dev.zcproxy.cache.policy.Fixtures.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.zcproxy.cache.EntryMeta;
import dev.zcproxy.cache.Headers;
import dev.zcproxy.cache.Lookup;
import dev.zcproxy.cache.ResponseHead;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every answer of the facade, as a value, at times set on a fake clock. */
class HttpCacheTest {
  private final AtomicLong clock = new AtomicLong(T0);
  private final CachePolicy policy = new CachePolicy(PolicyConfig.defaults());
  private final HttpCache cache = new HttpCache(policy, clock::get);

  private void advance(long seconds) {
    clock.addAndGet(seconds * 1000);
  }

  // ---------------------------------------------------------------- recv and lookup

  @Test
  void getAndHeadAreLookedUpOtherMethodsAreNot() {
    assertThat(cache.looksUp(get())).isTrue();
    assertThat(cache.looksUp(request("HEAD"))).isTrue();
    assertThat(cache.looksUp(request("POST"))).isFalse();
    assertThat(cache.looksUp(request("get"))).isFalse(); // methods are case-sensitive (RFC 9110 §9.1)
  }

  @Test
  void theLookupIsMadeAtTheClocksNow() {
    EntryMeta e = entry("Cache-Control", "max-age=60", "Date", date(0));
    assertThat(cache.lookup(get(), List.of(e))).isEqualTo(new Lookup.Fresh(e, 0));
    advance(59);
    assertThat(cache.lookup(get(), List.of(e))).isEqualTo(new Lookup.Fresh(e, 59));
    advance(1);
    assertThat(cache.lookup(get(), List.of(e))).isEqualTo(new Lookup.Stale(e, 60, Lookup.Action.REVALIDATE, "stale"));
  }

  /** The request's no-cache is the directive itself, not any directive that starts with it (§5.2.1.4, §5.2.3). */
  @ParameterizedTest(name = "[{index}] {0} | pragma {1} at +{2}s -> {3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "no-cache;            -;        10; request",
      "NO-CACHE;            -;        10; request",
      "no-cache=\"x\";      -;        10; request",
      "max-age=600, no-cache; -;      10; request",
      "no-cache;            -;        90; request",
      "no-cache-foo;        -;        90; stale",
      "no-cachex;           -;        90; stale",
      "no-cache-foo;        -;        10; fresh",
      "-;                   no-cache; 10; request",
      "-;                   no-cache-foo; 10; fresh",
      "max-age=5;           no-cache; 10; request",
      "max-age=0;           -;        10; request",
      "min-fresh=55;        -;        10; request",
      "min-fresh=45;        -;        10; fresh",
      "max-age=0;           -;        90; stale",
      "-;                   -;        90; stale",
  })
  void aRevalidationSaysWhetherTheRequestAskedForIt(String cc, String pragma, long at, String expected) {
    EntryMeta e = entry("Cache-Control", "max-age=60", "Date", date(0), "ETag", "\"v1\"");
    List<String> fields = new java.util.ArrayList<>();
    if (cc != null) {
      fields.addAll(List.of("Cache-Control", cc));
    }
    if (pragma != null) {
      fields.addAll(List.of("Pragma", pragma));
    }
    advance(at);
    Lookup l = cache.lookup(get(fields.toArray(String[]::new)), List.of(e));
    if (expected.equals("fresh")) {
      assertThat(l).isInstanceOf(Lookup.Fresh.class);
    } else {
      assertThat(l).isInstanceOf(Lookup.Stale.class);
      assertThat(((Lookup.Stale) l).action()).isEqualTo(Lookup.Action.REVALIDATE);
      assertThat(((Lookup.Stale) l).fwd()).isEqualTo(expected);
    }
  }

  @Test
  void onlyAStoredPartialIsAMissNotAVaryMiss() {
    EntryMeta partial = entry(206, "", T0, T0, "Cache-Control", "max-age=60", "Date", date(0),
        "Content-Range", "bytes 0-9/100");
    assertThat(cache.lookup(get(), List.of(partial))).isEqualTo(new Lookup.Miss("miss", false));
    EntryMeta other = entry(200, "foo=1", T0, T0, "Cache-Control", "max-age=60", "Date", date(0), "Vary", "Foo");
    assertThat(cache.lookup(get(), List.of(partial, other))).isEqualTo(new Lookup.Miss("vary-miss", false));
  }

  @Test
  void aStaleEntryServedStaleIsNotTheRequestsRevalidation() {
    EntryMeta e = entry("Cache-Control", "max-age=60, stale-while-revalidate=60", "Date", date(0));
    advance(90);
    assertThat(cache.lookup(get(), List.of(e))).isEqualTo(new Lookup.Stale(e, 90, Lookup.Action.SERVE_STALE_AND_REVALIDATE));
    assertThat(((Lookup.Stale) cache.lookup(get(), List.of(e))).fwd()).isEqualTo("stale");
  }

  // ---------------------------------------------------------------- the origin request

  @Test
  void aFetchForTheCacheDropsTheClientsConditionalsAndRange() {
    OriginFields miss = cache.originFields(null, true);
    assertThat(miss.remove()).containsExactlyInAnyOrder("if-none-match", "if-modified-since", "if-range", "range",
        "if-match", "if-unmodified-since");
    assertThat(miss.add().isEmpty()).isTrue();
  }

  @Test
  void aMissAnsweredByAnotherCacheKeepsTheClientsFields() {
    assertThat(cache.originFields(null, false)).isEqualTo(OriginFields.UNCHANGED);
    assertThat(OriginFields.UNCHANGED.remove()).isEmpty();
  }

  @Test
  void aRevalidationSendsTheStoredValidatorsInsteadOfTheClients() {
    EntryMeta e = entry("ETag", "\"v1\"", "Last-Modified", date(-100));
    for (boolean storedHere : new boolean[] {true, false}) {
      OriginFields f = cache.originFields(e, storedHere);
      assertThat(f.remove()).contains("if-none-match", "if-modified-since", "if-range", "range", "if-match", "if-unmodified-since");
      assertThat(f.add()).isEqualTo(Headers.of("If-None-Match", "\"v1\"", "If-Modified-Since", date(-100)));
    }
    assertThat(cache.originFields(entry("Cache-Control", "max-age=1"), true).add().isEmpty()).isTrue();
  }

  @Test
  void aHeadThatMissesIsFetchedAsAGetAndOneThatRevalidatesAsAHead() {
    assertThat(cache.originMethod(request("HEAD"), null)).isEqualTo("GET");
    assertThat(cache.originMethod(request("HEAD"), entry())).isEqualTo("HEAD");
    assertThat(cache.originMethod(get(), null)).isEqualTo("GET");
  }

  // ---------------------------------------------------------------- the origin response

  @Test
  void aStorableResponseIsStoredAsAnEntryWithItsTimes() {
    ResponseAction a = cache.afterFetch(get("Accept-Encoding", "gzip"),
        response(200, "Cache-Control", "max-age=60", "Vary", "Accept-Encoding", "Connection", "close"),
        null, URI, at(1), at(2), policy);
    assertThat(a).isInstanceOf(ResponseAction.Store.class);
    EntryMeta m = ((ResponseAction.Store) a).entry();
    assertThat(m.primaryKey()).isEqualTo(URI);
    assertThat(m.variant()).isNotEmpty();
    assertThat(m.status()).isEqualTo(200);
    assertThat(m.headers().contains("Connection")).isFalse();
    assertThat(m.requestTime()).isEqualTo(at(1));
    assertThat(m.responseTime()).isEqualTo(at(2));
    assertThat(m.bodyLength()).isZero();
  }

  @Test
  void aHeadThatMissesIsStoredAsTheGetItWasFetchedAs() {
    ResponseAction a = cache.afterFetch(request("HEAD"), response(200, "Cache-Control", "max-age=60"), null, URI, T0, T0, policy);
    assertThat(a).isInstanceOf(ResponseAction.Store.class);
  }

  /** Hit-for-pass is remembered for reasons that come from the response, not from the request. */
  @ParameterizedTest(name = "[{index}] {0} {1} | req {2} -> {3} remembered={4}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "GET;  200; -;                           Cache-Control: no-store;                      NO_STORE;         true",
      "GET;  200; -;                           Cache-Control: private;                       PRIVATE;          true",
      "GET;  200; -;                           Vary: *|Cache-Control: max-age=60;            VARY_STAR;        true",
      "GET;  206; -;                           Cache-Control: max-age=60;                    PARTIAL;          true",
      "GET;  599; -;                           Cache-Control: max-age=60, must-understand;   STATUS;           true",
      "GET;  201; -;                           Content-Length: 5;                             NO_FRESHNESS;     true",
      "GET;  200; -;                           Cache-Control: max-age=60|Set-Cookie: a=1;    SET_COOKIE;       false",
      "GET;  200; Cache-Control: no-store;     Cache-Control: max-age=60;                    REQUEST_NO_STORE; false",
      "GET;  200; Authorization: Basic eA==;   Cache-Control: max-age=60;                    AUTHORIZATION;    false",
      "POST; 200; -;                           Cache-Control: max-age=60;                    METHOD;           false",
  })
  void anUnstorableResponseIsPassedWithAReasonThatSaysWhetherToRemember(String method, int status, String req,
      String resp, Reason reason, boolean remembered) {
    ResponseAction a = cache.afterFetch(request(method, Fixtures.fields(req)), response(status, Fixtures.fields(resp)),
        null, URI, T0, T0, policy);
    assertThat(a).isEqualTo(new ResponseAction.Pass(reason, reason.token()));
    assertThat(reason.remembered()).isEqualTo(remembered);
  }

  @Test
  void aSitesStorageRulesDecideWhatIsStored() {
    CachePolicy small = new CachePolicy(new PolicyConfig(0.1, 86_400, 3_600, true, true, 16, 10));
    ResponseHead big = response(200, "Cache-Control", "max-age=60", "Content-Length", "11");
    assertThat(cache.afterFetch(get(), big, null, URI, T0, T0, policy)).isInstanceOf(ResponseAction.Store.class);
    assertThat(cache.afterFetch(get(), big, null, URI, T0, T0, small)).isEqualTo(new ResponseAction.Pass(Reason.TOO_LARGE));
  }

  @Test
  void theRememberedReasonsAreTheResponsesOwn() {
    Set<String> remembered = Arrays.stream(Reason.values()).filter(Reason::remembered).map(Reason::token).collect(Collectors.toSet());
    assertThat(remembered).containsExactlyInAnyOrder("no-store", "private", "status", "no-freshness", "vary-star", "too-large", "partial");
  }

  @Test
  void anUnknownReasonIsPassedWithItsTokenAndNotRemembered() {
    assertThat(Reason.of("something-new")).isEqualTo(Reason.OTHER);
    assertThat(Reason.OTHER.remembered()).isFalse();
    for (Reason r : Reason.values()) {
      assertThat(Reason.of(r.token())).isEqualTo(r);
    }
  }

  @Test
  void a304IsMergedIntoTheStaleEntry() {
    EntryMeta stale = entry("Cache-Control", "max-age=60", "ETag", "\"v1\"", "X-Old", "1");
    ResponseAction a = cache.afterFetch(get(), response(304, "ETag", "\"v1\"", "X-New", "2"), stale, URI, at(100), at(101), policy);
    assertThat(a).isInstanceOf(ResponseAction.Merge.class);
    EntryMeta m = ((ResponseAction.Merge) a).refreshed();
    assertThat(m.headers().get("X-New")).isEqualTo("2");
    assertThat(m.headers().get("X-Old")).isEqualTo("1");
    assertThat(m.responseTime()).isEqualTo(at(101));
    assertThat(m.bodyLength()).isEqualTo(stale.bodyLength());
    assertThat(cache.merge304(stale, response(304, "ETag", "\"v1\"", "X-New", "2"), at(100), at(101))).isEqualTo(a);
  }

  /** stale-while-revalidate's background request is a GET whatever the client sent: judged and stored as one. */
  @Test
  void aBackgroundRevalidationIsAGetAndItsResponseIsStoredAsOne() {
    EntryMeta stale = entry("Cache-Control", "max-age=60, stale-while-revalidate=600", "ETag", "\"v1\"");
    assertThat(cache.backgroundMethod()).isEqualTo("GET");
    ResponseAction a = cache.afterBackgroundFetch(request("HEAD"), response(200, "Cache-Control", "max-age=60", "ETag", "\"v2\""),
        stale, URI, at(100), at(101), policy);
    assertThat(a).isInstanceOf(ResponseAction.Store.class);
    assertThat(((ResponseAction.Store) a).entry().headers().get("ETag")).isEqualTo("\"v2\"");
    assertThat(cache.afterBackgroundFetch(request("HEAD"), response(304, "ETag", "\"v1\""), stale, URI, at(100), at(101), policy))
        .isInstanceOf(ResponseAction.Merge.class);
    assertThat(cache.afterBackgroundFetch(get(), response(200, "Cache-Control", "no-store"), stale, URI, at(100), at(101), policy))
        .isInstanceOf(ResponseAction.Pass.class);
  }

  @Test
  void aHeadsMatching200RefreshesTheStoredGetAndAnotherIsPassed() {
    EntryMeta stale = entry("Cache-Control", "max-age=60", "ETag", "\"v1\"");
    ResponseAction same = cache.afterFetch(request("HEAD"), response(200, "ETag", "\"v1\"", "Content-Length", "1000",
        "Cache-Control", "max-age=60"), stale, URI, at(100), at(100), policy);
    assertThat(same).isInstanceOf(ResponseAction.Merge.class);
    ResponseAction other = cache.afterFetch(request("HEAD"), response(200, "ETag", "\"v1\"", "Content-Length", "5",
        "Cache-Control", "max-age=60"), stale, URI, at(100), at(100), policy);
    assertThat(other).isEqualTo(new ResponseAction.Pass(Reason.HEAD));
    assertThat(Reason.HEAD.remembered()).isFalse();
  }

  @Test
  void a5xxServesTheStaleEntryOnlyWhereStaleIfErrorAllows() {
    EntryMeta allowed = entry("Cache-Control", "max-age=60, stale-if-error=600", "Date", date(0));
    EntryMeta not = entry("Cache-Control", "max-age=60", "Date", date(0));
    ResponseHead error = response(503);
    assertThat(cache.afterFetch(get(), error, allowed, URI, at(100), at(100), policy)).isEqualTo(new ResponseAction.ServeStale());
    assertThat(cache.afterFetch(get(), error, allowed, URI, at(1000), at(1000), policy)).isEqualTo(new ResponseAction.Pass(Reason.NO_FRESHNESS));
    assertThat(cache.afterFetch(get(), error, not, URI, at(100), at(100), policy)).isEqualTo(new ResponseAction.Pass(Reason.NO_FRESHNESS));
  }

  @Test
  void staleIfErrorForAnUnreachableOriginIsJudgedAtTheClocksNow() {
    EntryMeta e = entry("Cache-Control", "max-age=60, stale-if-error=600", "Date", date(0));
    advance(600);
    assertThat(cache.staleIfError(get(), e)).isTrue();
    advance(61);
    assertThat(cache.staleIfError(get(), e)).isFalse();
  }

  @Test
  void aWaiterJoinsAFillOnlyForTheVariantItSelects() {
    ResponseHead varied = response(200, "Cache-Control", "max-age=60", "Vary", "Accept-Language");
    String en = ((ResponseAction.Store) cache.afterFetch(get("Accept-Language", "en"), varied, null, URI, T0, T0, policy))
        .entry().variant();
    assertThat(cache.joins(get("Accept-Language", "en"), varied, en, policy)).isTrue();
    assertThat(cache.joins(request("HEAD", "Accept-Language", "en"), varied, en, policy)).isTrue();
    assertThat(cache.joins(get("Accept-Language", "de"), varied, en, policy)).isFalse();
    assertThat(cache.joins(get(), null, "", policy)).isFalse();
  }

  // ---------------------------------------------------------------- store and invalidate

  @Test
  void theOldestOtherVariantsGoWhenTheLimitIsReached() {
    HttpCache two = new HttpCache(new CachePolicy(new PolicyConfig(0.1, 86_400, 3_600, true, true, 2, Long.MAX_VALUE)), clock::get);
    EntryMeta a = entry(200, "a", T0, at(1));
    EntryMeta b = entry(200, "b", T0, at(3));
    EntryMeta c = entry(200, "c", T0, at(2));
    EntryMeta incoming = entry(200, "d", T0, at(4));
    assertThat(two.variantsToDrop(incoming, List.of())).isEmpty();
    assertThat(two.variantsToDrop(incoming, List.of(a))).isEmpty();
    assertThat(two.variantsToDrop(incoming, List.of(a, b))).containsExactly(a.key());
    assertThat(two.variantsToDrop(incoming, List.of(b, a, c))).containsExactly(a.key(), c.key());
    // replacing its own variant takes no other's place
    assertThat(two.variantsToDrop(entry(200, "a", T0, at(4)), List.of(a, b))).isEmpty();
  }

  @Test
  void invalidationsCarryTheSitesKeySuffix() {
    var post = request("POST");
    var ok = response(200);
    assertThat(cache.invalidations(post, ok, "")).containsExactly(URI);
    assertThat(cache.invalidations(post, ok, "#site")).containsExactly(URI + "#site");
    assertThat(cache.invalidations(post, response(500), "#site")).isEmpty();
    assertThat(cache.invalidations(get(), ok, "#site")).isEmpty();
  }

  // ---------------------------------------------------------------- deliver

  @Test
  void theOpenedEntryIsServedUnlessTheRequestedOneIsANewerMergeOfTheSameBody() {
    EntryMeta opened = new EntryMeta(URI, "", 200, Headers.of("X", "old"), T0, T0, 10, 100);
    EntryMeta merged = opened.withHeaders(Headers.of("X", "new"), at(5), at(5));
    assertThat(cache.served(merged, opened)).isSameAs(merged);
    assertThat(cache.served(opened, merged)).isSameAs(merged);
    EntryMeta rewritten = new EntryMeta(URI, "", 200, Headers.of("X", "other"), T0, T0, 20, 100);
    assertThat(cache.served(merged, rewritten)).isSameAs(rewritten);
    assertThat(cache.served(opened, opened)).isSameAs(opened);
  }

  @Test
  void theFieldsFollowTheSitesCookieRuleAndCarryTheAgeAtTheClocksNow() {
    EntryMeta e = entry("Cache-Control", "max-age=60", "Date", date(0), "Age", "3", "Set-Cookie", "a=1", "X", "y");
    advance(7);
    CachePolicy storeCookies = new CachePolicy(new PolicyConfig(0.1, 86_400, 3_600, true, true, 16, Long.MAX_VALUE,
        SetCookie.STORE));
    Delivery plain = cache.deliver(get(), e, e, policy);
    assertThat(plain.fields()).isEqualTo(new ResponseFields(e, false, 10)); // 3 s old when stored, 7 s since
    assertThat(plain.fields().toHeaders()).isEqualTo(Headers.of("Cache-Control", "max-age=60", "Date", date(0), "Age", "10", "X", "y"));
    assertThat(cache.deliver(get(), e, e, storeCookies).fields().toHeaders().get("Set-Cookie")).isEqualTo("a=1");
    assertThat(cache.fields(e, policy)).isEqualTo(plain.fields());
    assertThat(cache.age(e)).isEqualTo(10);
    // without a stored Age, the current one goes last
    EntryMeta noAge = entry("Date", date(0));
    assertThat(cache.fields(noAge, policy).toHeaders()).isEqualTo(Headers.of("Date", date(0), "Age", "7"));
  }

  @Test
  void aStoredEntryIsDeliveredInFullWithItsLength() {
    EntryMeta e = entry("Cache-Control", "max-age=60", "ETag", "\"v1\"");
    Delivery d = cache.deliver(get(), e, e, policy);
    assertThat(d).isEqualTo(new Delivery(Delivery.Kind.FULL, e, 200, cache.fields(e, policy), 0, 1000, null, true));
    assertThat(d.contentLength()).isEqualTo(1000);
  }

  @ParameterizedTest(name = "[{index}] {0}: {1}")
  @CsvSource(delimiter = ';', value = {
      "If-None-Match; \"v1\"",
      "If-None-Match; *",
      "If-None-Match; W/\"v1\", \"v2\"",
      "If-Modified-Since; Tue, 14 Nov 2023 22:13:20 GMT",
  })
  void matchingValidatorsAreAnswered304WithoutALengthOrBody(String field, String value) {
    EntryMeta e = entry("Cache-Control", "max-age=60", "ETag", "\"v1\"", "Last-Modified", date(-100));
    for (String method : List.of("GET", "HEAD")) {
      Delivery d = cache.deliver(request(method, field, value, "Range", "bytes=0-9"), e, e, policy);
      assertThat(d.kind()).isEqualTo(Delivery.Kind.NOT_MODIFIED);
      assertThat(d.status()).isEqualTo(304);
      assertThat(d.contentLength()).isEqualTo(-1);
      assertThat(d.contentRange()).isNull();
      assertThat(d.body()).isFalse();
    }
    assertThat(cache.deliver(get(field, field.equals("If-None-Match") ? "\"v2\"" : date(-200)), e, e, policy).kind())
        .isEqualTo(Delivery.Kind.FULL);
  }

  @Test
  void aFailedIfMatchIsAnswered412BeforeTheConditionalAndTheRange() {
    EntryMeta e = entry("Cache-Control", "max-age=60", "ETag", "\"v1\"", "Last-Modified", date(-100));
    Delivery d = cache.deliver(request("GET", "If-Match", "\"v2\"", "If-None-Match", "\"v1\""), e, e, policy);
    assertThat(d.kind()).isEqualTo(Delivery.Kind.PRECONDITION_FAILED);
    assertThat(d.status()).isEqualTo(412);
    assertThat(d.contentLength()).isZero();
    assertThat(d.body()).isFalse();
    assertThat(cache.deliver(request("GET", "If-Match", "\"v1\"", "Range", "bytes=0-9"), e, e, policy).kind())
        .isEqualTo(Delivery.Kind.PARTIAL);
    assertThat(cache.deliver(get("If-Unmodified-Since", date(-200)), e, e, policy).kind())
        .isEqualTo(Delivery.Kind.PRECONDITION_FAILED);
  }

  @Test
  void aRangeOfAGetIsAnswered206WithItsBytesOr416() {
    EntryMeta e = new EntryMeta(URI, "", 200, Headers.of("Cache-Control", "max-age=60"), T0, T0, 1000, 64);
    Delivery part = cache.deliver(get("Range", "bytes=10-19"), e, e, policy);
    assertThat(part).isEqualTo(new Delivery(Delivery.Kind.PARTIAL, e, 206, cache.fields(e, policy), 10, 10,
        "bytes 10-19/1000", true));
    assertThat(part.contentLength()).isEqualTo(10);
    assertThat(cache.deliver(get("Range", "bytes=-100"), e, e, policy).first()).isEqualTo(900);

    Delivery none = cache.deliver(get("Range", "bytes=1000-"), e, e, policy);
    assertThat(none).isEqualTo(new Delivery(Delivery.Kind.UNSATISFIABLE, e, 416, cache.fields(e, policy), 0, 0,
        "bytes */1000", false));
    assertThat(none.contentLength()).isZero();

    // not a byte range, or an If-Range that does not match: the whole response
    assertThat(cache.deliver(get("Range", "items=0-1"), e, e, policy).kind()).isEqualTo(Delivery.Kind.FULL);
    assertThat(cache.deliver(get("Range", "bytes=0-9", "If-Range", "\"other\""), e, e, policy).kind())
        .isEqualTo(Delivery.Kind.FULL);
  }

  @Test
  void aHeadGetsTheHeadAloneWithTheFullLengthWhateverItsRange() {
    EntryMeta e = entry("Cache-Control", "max-age=60");
    for (String range : new String[] {"bytes=0-9", "bytes=5000-"}) {
      Delivery d = cache.deliver(request("HEAD", "Range", range), e, e, policy);
      assertThat(d).isEqualTo(new Delivery(Delivery.Kind.FULL, e, 200, cache.fields(e, policy), 0, 1000, null, false));
    }
  }

  @Test
  void aStoredResponseWithoutContentSendsNoBody() {
    EntryMeta noContent = new EntryMeta(URI, "", 204, Headers.of("Cache-Control", "max-age=60"), T0, T0, 0, 0);
    Delivery d = cache.deliver(get(), noContent, noContent, policy);
    assertThat(d.kind()).isEqualTo(Delivery.Kind.FULL);
    assertThat(d.status()).isEqualTo(204);
    assertThat(d.body()).isFalse();
  }

  @Test
  void aStoredPartialAnswersARangeInsideItWithTheRepresentationsOffsets() {
    // stored for Range: bytes=-6 of a 10-byte representation: bytes 4-9
    EntryMeta partial = new EntryMeta(URI, PartialContent.PREFIX + "bytes=-6", 206,
        Headers.of("Cache-Control", "max-age=60", "Content-Range", "bytes 4-9/10"), T0, T0, 6, 0);
    Delivery d = cache.deliver(get("Range", "bytes=-5"), partial, partial, policy);
    assertThat(d.kind()).isEqualTo(Delivery.Kind.PARTIAL);
    assertThat(d.first()).isEqualTo(1);
    assertThat(d.length()).isEqualTo(5);
    assertThat(d.contentRange()).isEqualTo("bytes 5-9/10");
    // the very range it was stored for: the stored 206 as it is
    Delivery same = cache.deliver(get("Range", "bytes=-6"), partial, partial, policy);
    assertThat(same.status()).isEqualTo(206);
    assertThat(same.length()).isEqualTo(6);
  }

  @Test
  void theDeliveryDescribesTheServedEntry() {
    EntryMeta opened = new EntryMeta(URI, "", 200, Headers.of("ETag", "\"old\""), T0, T0, 10, 100);
    EntryMeta merged = opened.withHeaders(Headers.of("ETag", "\"new\""), at(5), at(5));
    Delivery d = cache.deliver(get("If-None-Match", "\"new\""), merged, opened, policy);
    assertThat(d.entry()).isSameAs(merged);
    assertThat(d.kind()).isEqualTo(Delivery.Kind.NOT_MODIFIED);
  }

  /** The pre-encoded hit path serves only requests every stored complete response answers in full. */
  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = ';', value = {
      "If-None-Match; \"v1\"",
      "If-Modified-Since; Tue, 14 Nov 2023 22:13:20 GMT",
      "Range; bytes=0-9",
      "If-Range; \"v1\"",
      "If-Match; \"v1\"",
      "If-Unmodified-Since; Tue, 14 Nov 2023 22:13:20 GMT",
      "if-none-match; *",
  })
  void aRequestWithAConditionalOrRangeIsNotAnsweredInFullBlindly(String field, String value) {
    assertThat(cache.answersInFull(get(field, value))).isFalse();
  }

  @Test
  void aPlainRequestIsAnsweredInFullByEveryEntry() {
    assertThat(cache.answersInFull(get("Accept", "*/*", "Cache-Control", "max-age=0"))).isTrue();
    for (EntryMeta e : List.of(entry("ETag", "\"v1\"", "Last-Modified", date(-100)), entry(200, "x", T0, T0))) {
      assertThat(cache.deliver(get("Accept", "*/*"), e, e, policy).kind()).isEqualTo(Delivery.Kind.FULL);
    }
  }

  // ---------------------------------------------------------------- pass

  @Test
  void aPassedPostNamingItsOwnUriIsStoredForItsGets() {
    ResponseAction a = cache.afterPass(request("POST"), response(200, "Cache-Control", "max-age=60", "Content-Location", "/a"),
        URI, at(1), at(2), policy);
    assertThat(a).isInstanceOf(ResponseAction.Store.class);
    assertThat(((ResponseAction.Store) a).entry().responseTime()).isEqualTo(at(2));
    assertThat(cache.afterPass(request("POST"), response(200, "Cache-Control", "max-age=60", "Content-Location", "/b"),
        URI, T0, T0, policy)).isEqualTo(new ResponseAction.Pass(Reason.METHOD));
  }

  @Test
  void aForwardedRangesPartialIsStoredAsAPartialEntry() {
    ResponseAction a = cache.afterPass(get("Range", "bytes=-5"),
        response(206, "Cache-Control", "max-age=60", "Content-Range", "bytes 5-9/10"), URI, T0, T0, policy);
    assertThat(a).isInstanceOf(ResponseAction.Store.class);
    assertThat(((ResponseAction.Store) a).entry().variant()).isEqualTo(PartialContent.PREFIX + "bytes=-5");
    assertThat(cache.afterPass(get("Range", "bytes=-5"),
        response(206, "Cache-Control", "no-store", "Content-Range", "bytes 5-9/10"), URI, T0, T0, policy))
        .isEqualTo(new ResponseAction.Pass(Reason.PARTIAL));
  }

  @Test
  void anyOtherPassedResponseIsOnlyRelayed() {
    ResponseHead fresh = response(200, "Cache-Control", "max-age=60", "Content-Location", "/a");
    assertThat(cache.afterPass(get(), fresh, URI, T0, T0, policy)).isEqualTo(new ResponseAction.Pass(Reason.OTHER, "passed"));
    assertThat(cache.afterPass(request("PUT"), fresh, URI, T0, T0, policy)).isEqualTo(new ResponseAction.Pass(Reason.OTHER, "passed"));
    assertThat(cache.afterPass(request("HEAD", "Range", "bytes=-5"),
        response(206, "Cache-Control", "max-age=60", "Content-Range", "bytes 5-9/10"), URI, T0, T0, policy))
        .isInstanceOf(ResponseAction.Pass.class);
  }

  // ---------------------------------------------------------------- preconditions the cache evaluates

  /** RFC 9110 §13.1.1 (strong comparison), §13.1.4, in the order of §13.2.2; the stored entry has ETag "v1" unless said. */
  @ParameterizedTest(name = "[{index}] {0} {1} against {2} -> failed={3}")
  @CsvSource(delimiter = ';', nullValues = "-", value = {
      "GET;  If-Match: *;                                    ETag: \"v1\";          false",
      "GET;  If-Match: *;                                    -;                      false",
      "GET;  If-Match: \"v1\";                               ETag: \"v1\";          false",
      "GET;  If-Match: \"a\", \"v1\";                        ETag: \"v1\";          false",
      "GET;  If-Match: \"v2\";                               ETag: \"v1\";          true",
      "GET;  If-Match: \"v1\";                               ETag: W/\"v1\";        true",
      "GET;  If-Match: W/\"v1\";                             ETag: W/\"v1\";        true",
      "GET;  If-Match: \"v1\";                               -;                      true",
      "HEAD; If-Match: \"v2\";                               ETag: \"v1\";          true",
      "POST; If-Match: \"v2\";                               ETag: \"v1\";          false",
      "GET;  If-Unmodified-Since: +50;                        Last-Modified: +0;      false",
      "GET;  If-Unmodified-Since: +0;                         Last-Modified: +0;      false",
      "GET;  If-Unmodified-Since: -50;                        Last-Modified: +0;      true",
      "GET;  If-Unmodified-Since: yesterday;                  Last-Modified: +0;      false",
      "GET;  If-Unmodified-Since: -50;                        ETag: \"v1\";          false",
      "GET;  If-Match: \"v1\"|If-Unmodified-Since: -50;      ETag: \"v1\"|Last-Modified: +0; false",
      "GET;  If-Match: \"v2\"|If-Unmodified-Since: +50;      ETag: \"v1\"|Last-Modified: +0; true",
      "GET;  -;                                              ETag: \"v1\";          false",
  })
  void theClientsPreconditionsAreEvaluatedOnWhatIsDelivered(String method, String req, String stored, boolean failed) {
    EntryMeta e = entry(200, "", T0, T0, dates(Fixtures.fields(stored)));
    assertThat(cache.preconditionFailed(request(method, dates(Fixtures.fields(req))), e)).isEqualTo(failed);
    assertThat(cache.preconditionFailed(request(method, dates(Fixtures.fields(req))), response(200, dates(Fixtures.fields(stored)))))
        .isEqualTo(failed);
  }

  @Test
  void aResponseOtherThan2xxIgnoresThePreconditions() {
    EntryMeta notFound = entry(404, "", T0, T0, "ETag", "\"v1\"");
    assertThat(cache.preconditionFailed(get("If-Match", "\"v2\""), notFound)).isFalse();
    assertThat(cache.preconditionFailed(get("If-Match", "\"v2\""), response(304, "ETag", "\"v1\""))).isFalse();
    EntryMeta partial = entry(206, "", T0, T0, "ETag", "\"v1\"", "Content-Range", "bytes 0-9/100");
    assertThat(cache.preconditionFailed(get("If-Match", "\"v2\""), partial)).isTrue();
  }

  /** Turns values like {@code +50} / {@code -50} into the IMF-fixdate that many seconds from T0. */
  private static String[] dates(String[] fields) {
    String[] out = fields.clone();
    for (int i = 1; i < out.length; i += 2) {
      if (out[i].matches("[+-]\\d+")) {
        out[i] = date(Long.parseLong(out[i].replace("+", "")));
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- a range from a fill under way

  @Test
  void aRangeIsAnsweredFromAFillOfKnownLength() {
    EntryMeta filling = entry(200, "", T0, T0, "ETag", "\"v1\"").withBody(0, 0); // nothing on disk yet
    assertThat(cache.fillRange(get("Range", "bytes=10-19"), filling, 64)).isEqualTo(new RangeDecision.Partial(10, 10, 64));
    assertThat(cache.fillRange(get("Range", "bytes=-4"), filling, 64)).isEqualTo(new RangeDecision.Partial(60, 4, 64));
    assertThat(cache.fillRange(get("Range", "bytes=60-"), filling, 64)).isEqualTo(new RangeDecision.Partial(60, 4, 64));
    assertThat(cache.fillRange(get("Range", "bytes=64-"), filling, 64)).isEqualTo(new RangeDecision.Unsatisfiable(64));
    // not answerable as one range: the whole
    assertThat(cache.fillRange(get("Range", "bytes=0-1, 5-6"), filling, 64)).isEqualTo(new RangeDecision.Full());
    assertThat(cache.fillRange(get("Range", "bytes=10-19", "If-Range", "\"v2\""), filling, 64)).isEqualTo(new RangeDecision.Full());
    assertThat(cache.fillRange(get("Range", "bytes=10-19", "If-Range", "\"v1\""), filling, 64))
        .isEqualTo(new RangeDecision.Partial(10, 10, 64));
    assertThat(cache.fillRange(request("HEAD", "Range", "bytes=10-19"), filling, 64)).isEqualTo(new RangeDecision.Full());
    assertThat(cache.fillRange(get(), filling, 64)).isEqualTo(new RangeDecision.Full());
  }

  @Test
  void aFillOfUnknownLengthIsSentWhole() {
    EntryMeta chunked = entry(200, "", T0, T0).withBody(0, 0);
    assertThat(cache.fillRange(get("Range", "bytes=10-19"), chunked, -1)).isEqualTo(new RangeDecision.Full());
    assertThat(cache.fillRange(get("Range", "bytes=10-19"), entry(206, "", T0, T0, "Content-Range", "bytes 0-63/100"), 64))
        .isEqualTo(new RangeDecision.Full());
  }
}
