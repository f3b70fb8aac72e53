package dev.zcproxy.proxy;

/** The command-line entry point of zcproxy. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    throw new UnsupportedOperationException("TODO");
  }
}
