// A headless Chromium that comes with `npm ci`: @sparticuz/chromium ships the
// browser binary (brotli-packed) inside the npm package, and playwright-core
// drives it. No system package, no download at install or run time.
//
// The package unpacks into os.tmpdir() itself and reuses whatever it finds
// there, so two test runs starting at once (several worktrees on one machine)
// could launch a half-written binary, and two versions would share one file.
// Here each package version unpacks once into a folder of its own: into a
// staging folder first, renamed into place when complete (rename is atomic),
// so a reader sees either nothing or a whole browser.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { type Browser, chromium } from 'playwright-core';

interface PackedChromium {
  args: string[];
  setGraphicsMode: boolean;
  executablePath(input?: string): Promise<string>;
}

export interface UnpackedChromium {
  /** The browser binary. */
  executablePath: string;
  /** A fontconfig file: the system's fonts where there are any, and the fonts the package ships. */
  fontConfigFile: string;
  version: string;
}

function packageRoot(): string {
  // The package exports only its entry point: build/cjs/index.cjs, two levels below the root.
  return path.resolve(path.dirname(require.resolve('@sparticuz/chromium')), '..', '..');
}

function fontConfig(home: string): string {
  return `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${home}/fonts</dir>
  <cachedir>${home}/fontconfig-cache</cachedir>
</fontconfig>
`;
}

/** Unpack the packaged browser (once per package version and machine) and say where it is. */
export async function unpackChromium(): Promise<UnpackedChromium> {
  const version = (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
  const home = path.join(os.tmpdir(), `tessera-chromium-${version}`);
  const ready = path.join(home, 'READY');
  if (!fs.existsSync(ready)) {
    const packed = require('@sparticuz/chromium') as PackedChromium;
    packed.setGraphicsMode = false; // no WebGL: the docs need none
    const staging = fs.mkdtempSync(`${home}.staging-`);
    const savedTmp = process.env.TMPDIR;
    try {
      process.env.TMPDIR = staging; // the package unpacks into os.tmpdir(), read at call time
      await packed.executablePath();
      fs.writeFileSync(path.join(staging, 'fonts.conf'), fontConfig(home));
      fs.writeFileSync(path.join(staging, 'READY'), `${version}\n`);
      fs.renameSync(staging, home);
    } catch (err) {
      // Another run may have finished first (the target exists and is not empty): then use its copy.
      fs.rmSync(staging, { recursive: true, force: true });
      if (!fs.existsSync(ready)) throw err;
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
  }
  return { executablePath: path.join(home, 'chromium'), fontConfigFile: path.join(home, 'fonts.conf'), version };
}

/**
 * The flags the package recommends, less `--single-process` (needed only inside
 * sandboxes that forbid new privileges; one process for browser and renderer is
 * less robust when a test opens many pages).
 */
export function chromiumArgs(): string[] {
  const packed = require('@sparticuz/chromium') as PackedChromium;
  packed.setGraphicsMode = false;
  return packed.args.filter((a) => a !== '--single-process');
}

/** Launch the packaged browser headless; generous timeout, as the machine may be busy. */
export async function launchChromium(timeoutMs = 180_000): Promise<Browser> {
  const unpacked = await unpackChromium();
  return chromium.launch({
    executablePath: unpacked.executablePath,
    args: chromiumArgs(),
    headless: true,
    timeout: timeoutMs,
    env: { ...process.env, FONTCONFIG_FILE: unpacked.fontConfigFile } as Record<string, string>,
  });
}
