package dev.zcproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StartupWarmerTest {
  /** A list gone stale after an upgrade warms nothing, silently: regenerate it (see its header). */
  @Test
  void everyListedClassStillExists() throws IOException {
    List<String> names = new ArrayList<>();
    try (InputStream in = StartupWarmer.class.getResourceAsStream(StartupWarmer.CLASS_LIST)) {
      assertNotNull(in, "the class list is in the jar");
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isBlank() && !line.startsWith("#")) {
          names.add(line.strip());
        }
      }
    }
    assertTrue(names.size() > 500, "the list names the classes: " + names.size());
    List<String> gone = new ArrayList<>();
    for (String name : names) {
      assertTrue(name.startsWith("io.netty.") || name.startsWith("io.vertx.core."), "only Netty and Vert.x: " + name);
      try {
        Class.forName(name, false, getClass().getClassLoader());
      } catch (ClassNotFoundException e) {
        gone.add(name);
      }
    }
    assertEquals(List.of(), gone, "classes of the start-up list no longer on the class path");
  }
}
