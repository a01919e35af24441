'use strict';
/**
 * A/B preload: makes @nestjs/platform-ws (and so Lifeline's sockets) load the
 * app's own `ws` instead of the copy nested under it, which is what
 * `"overrides": { "@nestjs/platform-ws": { "ws": "$ws" } }` in package.json
 * would do for good. Measurement aid only; the service does not use it.
 *
 *   BENCH_LIFELINE_NODE_ARGS="-r ./bench/tools/use-root-ws.js" npm run bench -- --servers=lifeline,plain-ws --scenarios=idle
 */
const Module = require('node:module');
const path = require('node:path');

const rootWs = require.resolve('ws', { paths: [path.resolve(__dirname, '..', '..')] });
const nested = `${path.sep}@nestjs${path.sep}platform-ws${path.sep}`;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === 'ws' && parent && parent.filename && parent.filename.includes(nested)) return rootWs;
  return resolve.call(this, request, parent, ...rest);
};
