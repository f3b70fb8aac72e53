package dev.zcproxy.cache.policy;

import static java.util.Objects.requireNonNull;

import dev.zcproxy.cache.Headers;
import java.util.List;

/**
 * How the header fields of an origin request differ from the client's: fields removed, then fields
 * added (both names lower case where they are removed).
 *
 * @param remove the client's fields not forwarded
 * @param add fields this cache adds (a revalidation's validators)
 */
public record OriginFields(List<String> remove, Headers add) {
  /** The client's fields as they are (a pass, or a miss whose conditionals another cache answers). */
  public static final OriginFields UNCHANGED = new OriginFields(List.of(), Headers.empty());

  public OriginFields {
    remove = List.copyOf(requireNonNull(remove, "remove"));
    requireNonNull(add, "add");
  }
}
