// Preloaded into the suite's CLI (node --require) so that the client does not
// use HTTP keep-alive, as the suite was written for.
//
// The CLI calls node-fetch 2.x without an agent, so every request goes through
// Node's http.globalAgent. Before Node 19 that agent had keepAlive=false and
// Node sent "Connection: close" on every request; since Node 19 the global
// agent keeps connections alive, which changes what a proxy sees (and what the
// published results were measured with). Restore the old agent.
'use strict'
const http = require('node:http')
const https = require('node:https')
http.globalAgent = new http.Agent({ keepAlive: false })
https.globalAgent = new https.Agent({ keepAlive: false })
