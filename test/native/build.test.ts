// Building the addon without its tools: the install goes on, says which tool is missing and how
// to get it, and loading the addon then throws an error that says the same.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { NativeUnavailableError } from '../../native';
import { explainMissingBinary, loadAddon, nativeDir } from '../../native/loader';
import { tempDirs } from '../helpers';

/** A copy of native/ (sources and scripts, no build) to run build.js in. */
function copyNative(into: string): string {
  const dir = path.join(into, 'native');
  fs.cpSync(nativeDir(), dir, { recursive: true, filter: (src) => path.basename(src) !== 'build' });
  return dir;
}

/** A PATH holding only the named tools of this machine (those it has), as symlinks. */
function pathWith(into: string, tools: string[]): string {
  const bin = path.join(into, 'bin');
  fs.mkdirSync(bin);
  for (const tool of tools) {
    // An interpreter behind a shim (pyenv) is found by asking it where it lives.
    const found =
      tool === 'python3'
        ? spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim()
        : spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) fs.symlinkSync(fs.realpathSync(found), path.join(bin, tool));
  }
  return bin;
}

function runBuild(dir: string, PATH: string) {
  const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH };
  return spawnSync(process.execPath, [path.join(dir, 'build.js')], { env, encoding: 'utf8', timeout: 120_000 });
}

describe('native: building without the tools', function () {
  this.timeout(120_000);
  const temp = tempDirs('native-build');

  it('with no C++ compiler on PATH the build exits 0 naming the compiler and how to get it, and loading the addon says the same', () => {
    const root = temp();
    const dir = copyNative(root);
    const r = runBuild(dir, pathWith(root, ['make', 'python3']));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /NOT BUILT\. a C\+\+ compiler \(tried c\+\+, g\+\+, clang\+\+\)/);
    assert.match(r.stderr, /apt-get install g\+\+ make python3/);
    assert.equal(fs.existsSync(path.join(dir, 'build', 'Release', 'tessera_native.node')), false);
    assert.throws(
      () => loadAddon(dir),
      (e: NativeUnavailableError) => {
        assert.ok(e instanceof NativeUnavailableError);
        assert.equal(e.code, 'TESSERA_NATIVE_UNAVAILABLE');
        assert.ok(e.missingTools.includes('a C++ compiler'), e.missingTools.join());
        assert.match(e.message, /when it was built, a C\+\+ compiler \(tried c\+\+, g\+\+, clang\+\+\) not found/);
        assert.match(e.message, /npm run build:native/);
        return true;
      },
    );
  });

  it('with no Python on PATH the build exits 0 and names Python', () => {
    const root = temp();
    const dir = copyNative(root);
    const r = runBuild(dir, pathWith(root, ['make', 'c++', 'g++']));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /NOT BUILT\..*Python 3\.6 or later \(tried python3, python\)/);
    const status = JSON.parse(fs.readFileSync(path.join(dir, 'build', 'status.json'), 'utf8'));
    assert.equal(status.built, false);
    assert.ok(status.missing.some((m: { tool: string }) => m.tool === 'Python 3.6 or later'));
  });

  it('the loader tells a build never run, a failed compile and a missing binary apart', () => {
    assert.match(explainMissingBinary(null).message, /never built here .*run npm run build:native/);
    const failed = explainMissingBinary({ built: false, failed: true, message: 'src/futex.cc:1: error: x' });
    assert.match(failed.message, /its build failed although every tool was found .*src\/futex\.cc:1: error: x/);
    assert.deepEqual(failed.missingTools, []);
    assert.match(explainMissingBinary({ built: true }).message, /binary is missing although the build succeeded/);
  });
});
