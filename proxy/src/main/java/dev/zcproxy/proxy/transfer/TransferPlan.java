package dev.zcproxy.proxy.transfer;

import java.util.Objects;

/**
 * How one response body will move, decided once by the {@link TransferPlanner}, and why (for logs and
 * tests): e.g. {@code sendfile} because "plain HTTP/1.1", {@code copy-tls} because "TLS client".
 *
 * @param mode the chosen mode
 * @param reason a short phrase naming the rule that chose it
 */
public record TransferPlan(TransferMode mode, String reason) {
  public TransferPlan {
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(reason, "reason");
  }

  /** Whether the plan moves the body in the kernel (sendfile or splice) rather than through the heap. */
  public boolean zeroCopy() {
    return mode == TransferMode.SENDFILE || mode == TransferMode.SPLICE;
  }

  @Override
  public String toString() {
    return mode.label() + " (" + reason + ")";
  }
}
