#!/usr/bin/env node
// `npx nestjs-lifeline` (or `lifeline` once installed): runs the service, configured by environment variables.
require('../dist/main.js');
