#!/usr/bin/env node
// Serves the example page and the SDK's browser bundle: `node examples/browser/serve.js`
// (it builds the bundle if needed), then open http://localhost:8080/ while `npm start` runs.
// PORT=… picks another port. Plain Node, no dependencies.
const { execFileSync } = require('node:child_process');
const { createReadStream, existsSync } = require('node:fs');
const { createServer } = require('node:http');
const { join } = require('node:path');

const files = {
  '/': [join(__dirname, 'index.html'), 'text/html; charset=utf-8'],
  '/lifeline-client.browser.js': [join(__dirname, '..', '..', 'client', 'dist', 'lifeline-client.browser.js'), 'text/javascript'],
};
const port = Number(process.env.PORT ?? 8080);

if (!existsSync(files['/lifeline-client.browser.js'][0])) {
  // Not built yet (npm start builds the service only): build the SDK, a few seconds.
  console.log('building client/dist ...');
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'client', 'scripts', 'build.mjs')], { stdio: 'inherit' });
}

createServer((req, res) => {
  const file = files[(req.url ?? '/').split('?')[0]];
  if (!file) return res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' });
  createReadStream(file[0]).pipe(res);
}).listen(port, () => console.log(`example page: http://localhost:${port}/  (WebSocket: ws://localhost:3000/ws; ?url=…&topic=…&token=…)`));
