/**
 * The YAML configuration of zcproxy: the immutable {@link dev.zcproxy.proxy.config.ProxyConfig}
 * record tree, validated in compact constructors, and {@link dev.zcproxy.proxy.config.ConfigLoader},
 * which binds a YAML file and command-line flags to it and reports every problem as a {@link
 * dev.zcproxy.proxy.config.ConfigException} naming the file, line, key path, value and expectation.
 */
package dev.zcproxy.proxy.config;
