// Starts the suite's own test server (node_modules/http-cache-tests/server/server.mjs)
// bound to 127.0.0.1 only. The suite's server calls server.listen(port) with no
// host (all interfaces) and has no option for it, so pin the host here and then
// load the unmodified server. Port, protocol and pid file come from the npm_config_*
// environment variables the suite reads (npm_config_port=0 picks a free port; the
// server prints "Listening on http://127.0.0.1:PORT/").
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const host = process.env.CONFORMANCE_ORIGIN_HOST || '127.0.0.1'
const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (...args) {
  if (args.length === 1 && (typeof args[0] === 'number' || typeof args[0] === 'string')) {
    return listen.call(this, Number(args[0]), host)
  }
  return listen.apply(this, args)
}

const here = path.dirname(fileURLToPath(import.meta.url))
await import(path.join(here, 'node_modules', 'http-cache-tests', 'server', 'server.mjs'))
