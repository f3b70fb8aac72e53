package dev.zcproxy.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.zcproxy.cache.policy.SetCookie;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SitesConfigTest {
  private static final String TWO_SITES = """
      sites:
        - name: shop
          hosts: [shop.example.com, "*.shop.example.com"]
          origins:
            - url: http://10.0.0.1:8080
              weight: 2
            - url: http://10.0.0.2:8080
          balance: least-requests
          health: { path: /healthz, interval: 2s, expect: 2xx, rise: 2, fall: 3 }
          max-connections: 10
          routes:
            - { prefix: /api/, origins: [{ url: http://10.0.0.3:9000 }], cache: { enabled: false } }
            - { prefix: /static/, cache: { max-object-size: 1MiB } }
        - name: blog
          hosts: [blog.example.com]
          origins: [http://10.0.1.1, "https://10.0.1.2"]
          balance: consistent-hash
          cache: { set-cookie: strip, key-headers: [Accept-Language] }
          preserve-host: false
          max-body-size: 1KiB
      default-site: blog
      """;

  @Test
  void bindsTheShapeOfTheIssue() {
    Sites sites = ConfigLoader.parse(TWO_SITES, "t.yaml").sites();
    assertThat(sites.configured()).isTrue();
    assertThat(sites.defaultSite()).isEqualTo("blog");
    Sites.Site shop = sites.list().get(0);
    assertThat(shop.hosts()).containsExactly("shop.example.com", "*.shop.example.com");
    assertThat(shop.pool().servers()).extracting(Sites.Server::weight).containsExactly(2, 1);
    assertThat(shop.pool().balance()).isEqualTo(Sites.Balance.LEAST_REQUESTS);
    assertThat(shop.pool().health().path()).isEqualTo("/healthz");
    assertThat(shop.pool().health().interval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(shop.pool().health().expectMin()).isEqualTo(200);
    assertThat(shop.pool().health().expectMax()).isEqualTo(299);
    assertThat(shop.pool().retries()).isEqualTo(1);
    assertThat(shop.pool().maxConnections()).isEqualTo(10);
    Sites.Route api = shop.routes().get(0);
    assertThat(api.pool().servers().get(0).url().port()).isEqualTo(9000);
    // a route's pool inherits the site's settings it does not set
    assertThat(api.pool().balance()).isEqualTo(Sites.Balance.LEAST_REQUESTS);
    assertThat(api.pool().maxConnections()).isEqualTo(10);
    assertThat(api.cache().enabled()).isFalse();
    assertThat(shop.routes().get(1).pool()).isNull();
    assertThat(shop.routes().get(1).cache().maxObjectBytes()).isEqualTo(1L << 20);
    Sites.Site blog = sites.list().get(1);
    assertThat(blog.pool().servers()).extracting(s -> s.url().toString())
        .containsExactly("http://10.0.1.1:80", "https://10.0.1.2:443");
    assertThat(blog.cache().setCookie()).isEqualTo(SetCookie.STRIP);
    assertThat(blog.cache().keyHeaders()).containsExactly("Accept-Language");
    assertThat(blog.preserveHost()).isFalse();
    assertThat(blog.maxBodyBytes()).isEqualTo(1024);
    assertThat(shop.preserveHost()).isNull();
  }

  @Test
  void withoutSitesOriginUrlIsTheOneSite() {
    ProxyConfig c = ConfigLoader.parse("origin:\n  url: http://127.0.0.1:9\n", "t.yaml");
    assertThat(c.sites()).isEqualTo(Sites.NONE);
    assertThat(ProxyConfig.defaults().sites().configured()).isFalse();
  }

  private static String error(String yaml) {
    try {
      ConfigLoader.parse(yaml, "t.yaml");
    } catch (ConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("accepted: " + yaml);
  }

  @Test
  void errorsNameTheKeyPathAndLine() {
    assertThat(error("sites:\n  - name: a\n    hosts: [a]\n    origins: [http://x]\n    balanse: round-robin\n"))
        .isEqualTo("t.yaml:5: sites[0].balanse: unknown key (did you mean sites[0].balance? expected one of: name, hosts, origins,"
            + " balance, health, retries, max-connections, queue, queue-timeout, routes, cache, max-body-size, preserve-host)");
    assertThat(error("sites:\n  - name: a\n    origins:\n      - url: ftp://x\n"))
        .startsWith("t.yaml:4: sites[0].origins[0].url: \"ftp://x\" has scheme ftp");
    assertThat(error("sites:\n  - name: a\n    origins: [http://x]\n    balance: random\n"))
        .startsWith("t.yaml:4: sites[0].balance: \"random\" is not a balancing method");
    assertThat(error("sites:\n  - name: a\n    hosts: [x.com]\n    origins: [http://x]\n  - name: b\n    hosts: [X.com]\n    origins: [http://y]\n"))
        .isEqualTo("t.yaml:6: sites[1].hosts: x.com is in sites[0] too (expected: each host in one site)");
    assertThat(error("sites:\n  - name: a\n    origins: [http://x]\ndefault-site: b\n"))
        .startsWith("t.yaml:4: default-site: b (expected: the name of a site: a");
    assertThat(error("sites:\n  - name: a\n    hosts: [a]\n"))
        .startsWith("t.yaml:2: sites[0].origins: missing");
    assertThat(error("sites:\n  - name: a\n    origins: [http://x]\n    health: { expect: 2oo }\n"))
        .startsWith("t.yaml:4: sites[0].health.expect: \"2oo\" is not a status");
    assertThat(error("sites:\n  - name: a\n    origins:\n      - url: http://x\n        weight: 0\n"))
        .startsWith("t.yaml:5: sites[0].origins[0].weight: weight: 0 (expected: 1..1000)");
    assertThat(error("sites:\n  - name: a\n    hosts: [\"shop:80\"]\n    origins: [http://x]\n"))
        .startsWith("t.yaml:3: sites[0].hosts: \"shop:80\" is not a host name");
    assertThat(error("sites:\n  - name: a\n    origins: [http://x]\n    routes:\n      - { origins: [http://y] }\n"))
        .startsWith("t.yaml:5: sites[0].routes[0].prefix: missing");
    assertThat(error("sites: yes\n")).startsWith("t.yaml:1: sites: \"yes\" (expected: a list of sites");
    assertThat(error("sitez: []\n")).contains("did you mean sites?");
  }

  @Test
  void referenceDocumentsEverySiteKey() throws Exception {
    String reference = java.nio.file.Files.readString(java.nio.file.Path.of("..", "conf", "proxy.yaml"));
    for (var keys : java.util.List.of(SitesLoader.SITE_KEYS, SitesLoader.ROUTE_KEYS, SitesLoader.ORIGIN_KEYS,
        SitesLoader.HEALTH_KEYS, SitesLoader.CACHE_KEYS)) {
      for (String k : keys) {
        assertThat(reference).as(k).containsPattern("#\\s+(- )?" + java.util.regex.Pattern.quote(k) + ":");
      }
    }
  }
}
