#!/usr/bin/env node
'use strict';
// The `tessera` command: runs the compiled CLI (npm run build compiles it).
const path = require('path');
const fs = require('fs');
const main = path.join(__dirname, '..', 'dist', 'cli', 'tessera.js');
if (!fs.existsSync(main)) {
  console.error('tessera: not built yet; run `npm run build` (or `npm ci`, which builds) first');
  process.exit(2);
}
require('source-map-support/register');
require(main).runCli(process.argv.slice(2));
