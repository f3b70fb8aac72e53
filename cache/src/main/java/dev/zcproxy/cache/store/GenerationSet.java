package dev.zcproxy.cache.store;

/**
 * A set of file generations (never 0) in one open-addressing {@code long[]}: 8 to 16 bytes per
 * element instead of a boxed set's 50 or more, for the million entries a snapshot may load. Thread
 * safe by its monitor.
 */
final class GenerationSet {
  private long[] table = new long[1024];
  private int size;

  /** Adds {@code generation} (not 0). */
  synchronized void add(long generation) {
    if (generation == 0) {
      throw new IllegalArgumentException("generation 0");
    }
    if ((size + 1) * 2 > table.length) {
      grow();
    }
    if (insert(table, generation)) {
      size++;
    }
  }

  /** Removes {@code generation}; whether it was there. */
  synchronized boolean remove(long generation) {
    int mask = table.length - 1;
    int i = slot(generation, mask);
    while (table[i] != 0) {
      if (table[i] == generation) {
        table[i] = 0;
        size--;
        // Re-insert the rest of the run so that no probe stops early at the hole.
        for (int j = (i + 1) & mask; table[j] != 0; j = (j + 1) & mask) {
          long g = table[j];
          table[j] = 0;
          insert(table, g);
        }
        return true;
      }
      i = (i + 1) & mask;
    }
    return false;
  }

  synchronized boolean contains(long generation) {
    int mask = table.length - 1;
    for (int i = slot(generation, mask); table[i] != 0; i = (i + 1) & mask) {
      if (table[i] == generation) {
        return true;
      }
    }
    return false;
  }

  synchronized int size() {
    return size;
  }

  private void grow() {
    long[] next = new long[table.length * 2];
    for (long g : table) {
      if (g != 0) {
        insert(next, g);
      }
    }
    table = next;
  }

  private static boolean insert(long[] t, long g) {
    int mask = t.length - 1;
    int i = slot(g, mask);
    while (t[i] != 0) {
      if (t[i] == g) {
        return false;
      }
      i = (i + 1) & mask;
    }
    t[i] = g;
    return true;
  }

  private static int slot(long g, int mask) {
    long h = g * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }
}
