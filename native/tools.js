// The tools building the native addon needs, and whether each is on this machine: a C++
// compiler, make, Python 3.6+ (node-gyp runs gyp with it), this Node's own headers (never
// downloaded) and node-gyp (npm carries one). Plain JavaScript: `npm ci` runs build.js before
// TypeScript is compiled, and the loader asks the same questions when the addon is missing.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const INSTALL_HINT =
  'install with your package manager (Debian/Ubuntu: apt-get install g++ make python3; ' +
  'Fedora/RHEL: dnf install gcc-c++ make python3; Alpine: apk add g++ make python3), then run npm run build:native';

function runs(command, args) {
  const [cmd, ...pre] = command.trim().split(/\s+/);
  if (!cmd) return false;
  const r = spawnSync(cmd, [...pre, ...args], { stdio: 'ignore', timeout: 30_000 });
  return !r.error && r.status === 0;
}

function first(candidates, args) {
  for (const c of candidates) if (c && runs(c, args)) return c;
  return null;
}

function nodeHeadersDir(env) {
  const dir = env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
  const header = path.join(dir, 'include', 'node', 'node_version.h');
  if (!fs.existsSync(header)) return { dir: null, tried: header };
  const text = fs.readFileSync(header, 'utf8');
  const part = (name) => (text.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`)) || [])[1];
  const version = `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  if (version !== process.version)
    return { dir: null, tried: `${header} (headers of ${version}, Node is ${process.version})` };
  return { dir, tried: header };
}

function nodeGypScript(env) {
  const candidates = [
    env.npm_config_node_gyp,
    env.npm_execpath &&
      path.join(path.dirname(env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.resolve(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: npm's own copy serves
  }
  return { script: candidates.find((c) => c && fs.existsSync(c)) || null, tried: candidates.filter(Boolean) };
}

/**
 * What is here and what is missing. Each missing entry names the tool, what was tried and how to
 * get it; `missing` is empty when the addon can be built.
 */
function probeTools(env = process.env) {
  const missing = [];
  if (process.platform !== 'linux') {
    missing.push({
      tool: 'Linux',
      tried: process.platform,
      hint: 'the addon uses memfd, futex, pidfd and SO_PEERCRED, which only Linux has; the rest of Tessera works without it',
    });
    return { missing };
  }
  const cxxTried = [env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
  const cxx = first(cxxTried, ['--version']);
  if (!cxx) missing.push({ tool: 'a C++ compiler', tried: cxxTried.join(', '), hint: INSTALL_HINT });
  const makeTried = [env.MAKE, 'make'].filter(Boolean);
  const make = first(makeTried, ['--version']);
  if (!make) missing.push({ tool: 'make', tried: makeTried.join(', '), hint: INSTALL_HINT });
  const pyTried = [env.npm_config_python, env.PYTHON, 'python3', 'python'].filter(Boolean);
  const python = first(pyTried, ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 6) else 1)']);
  if (!python) missing.push({ tool: 'Python 3.6 or later', tried: pyTried.join(', '), hint: INSTALL_HINT });
  const headers = nodeHeadersDir(env);
  if (!headers.dir)
    missing.push({
      tool: "Node's C++ headers",
      tried: headers.tried,
      hint:
        'install the headers of this exact Node version (the official tarballs include them under include/node; ' +
        'Debian/Ubuntu: apt-get install libnode-dev), or point npm_config_nodedir at them; they are never downloaded',
    });
  const gyp = nodeGypScript(env);
  if (!gyp.script)
    missing.push({
      tool: 'node-gyp',
      tried: gyp.tried.join(', '),
      hint: 'npm ships one; run through npm, or npm install -g node-gyp',
    });
  return { missing, cxx, make, python, nodeDir: headers.dir, nodeGyp: gyp.script };
}

/** One paragraph naming every missing tool, what was tried and how to get it (tools sharing a hint, together). */
function describeMissing(missing) {
  const byHint = new Map();
  for (const m of missing) byHint.set(m.hint, [...(byHint.get(m.hint) || []), `${m.tool} (tried ${m.tried})`]);
  return [...byHint].map(([hint, tools]) => `${tools.join(' and ')} not found: ${hint}`).join('; ');
}

module.exports = { probeTools, describeMissing };
