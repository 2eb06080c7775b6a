#!/usr/bin/env node
// Builds the native addon (native/build/Release/tessera_native.node) from its C++ source with
// node-gyp against this Node's own headers: nothing is downloaded and no prebuilt binary is used.
// `npm ci` runs it (the install script), and `npm run build:native` after a change to native/src.
//
// It never fails the install: the rest of Tessera works without the addon. When a tool is
// missing it says which and how to get it; a failed compile prints the compiler's last lines.
// Either way the reason goes to native/build/status.json, which the loader reports when the
// addon is asked for, and the tests use to tell a missing tool (skip) from a broken build (fail).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { probeTools, describeMissing } = require('./tools');

const DIR = __dirname;
const BUILD = path.join(DIR, 'build');
const BINARY = path.join(BUILD, 'Release', 'tessera_native.node');
const STATUS = path.join(BUILD, 'status.json');

function writeStatus(status) {
  fs.mkdirSync(BUILD, { recursive: true });
  const record = { ...status, node: process.version, modules: process.versions.modules, at: new Date().toISOString() };
  fs.writeFileSync(STATUS, JSON.stringify(record, null, 2) + '\n');
}

function say(line) {
  process.stderr.write(`tessera native addon: ${line}\n`);
}

function main() {
  const t0 = Date.now();
  const tools = probeTools();
  if (tools.missing.length > 0) {
    fs.rmSync(BINARY, { force: true });
    const message = describeMissing(tools.missing);
    writeStatus({ built: false, missing: tools.missing, message });
    say(`NOT BUILT. ${message}.`);
    say(
      'Tessera works without it, except what crosses process boundaries (shared segments, futex, pidfd, peer credentials).',
    );
    return;
  }
  const env = { ...process.env, CXX: tools.cxx, PYTHON: tools.python };
  if (tools.make !== 'make') env.MAKE = tools.make;
  const args = [tools.nodeGyp, 'rebuild', `--nodedir=${tools.nodeDir}`, `--python=${tools.python}`, '--jobs=max'];
  const r = spawnSync(process.execPath, args, { cwd: DIR, env, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error || r.status !== 0 || !fs.existsSync(BINARY)) {
    const output = `${r.stdout || ''}${r.stderr || ''}${r.error ? String(r.error) : ''}`;
    const tail = output
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('gyp info'))
      .slice(-15)
      .join('\n');
    fs.rmSync(BINARY, { force: true });
    writeStatus({ built: false, failed: true, message: `node-gyp rebuild failed (exit ${r.status}):\n${tail}` });
    say(`BUILD FAILED (node-gyp rebuild, exit ${r.status}); the last lines:\n${tail}`);
    say('the tools were all found, so this is a bug or a broken toolchain: the native tests will fail, not skip.');
    return;
  }
  writeStatus({ built: true, cxx: tools.cxx, nodeDir: tools.nodeDir });
  say(`built ${path.relative(process.cwd(), BINARY)} with ${tools.cxx} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main();
