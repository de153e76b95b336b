// Which Chromium the browser test drives. A system Chromium when there is one; otherwise the
// headless Chromium shipped (Brotli-compressed) in the devDependency @sparticuz/chromium,
// unpacked once into the temp directory. Never a download at test time.
//
// The unpacking is ours, not the package's executablePath(): that one writes /tmp/chromium in
// place, so two test processes starting together (or one killed midway) could launch a
// half-written binary. Here each version gets its own directory and the binary appears there
// by an atomic rename only once complete.
//
// DUALTAPE_CHROMIUM overrides the search: `system` (only /usr/bin/chromium), `npm` (only the
// devDependency, even when a system Chromium exists: how to check the npm path on a machine
// that has both), or the path of a Chromium executable.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';

export const systemChromium = '/usr/bin/chromium';

/** The one line a person reads when no Chromium can be found. */
export const chromiumFix = 'run `npm install` (it installs the devDependency @sparticuz/chromium, a headless Chromium for Linux x64) or install a system Chromium (Debian: `apt-get install chromium`).';

export interface FoundChromium {
  path: string;
  source: 'system' | 'npm' | 'env';
}

/** The folder of the installed @sparticuz/chromium package (its exports map hides package.json). */
function npmPackageDir(): string {
  const entry = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === '@sparticuz/chromium') return dir;
  }
  throw new Error(`no package.json above ${entry}`);
}

function npmChromium(): FoundChromium {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`browser test: no system Chromium at ${systemChromium}, and @sparticuz/chromium runs on Linux x64 only (this is ${process.platform} ${process.arch}). Fix: install Chromium and set DUALTAPE_CHROMIUM=/path/to/chromium.`);
  }
  let pkg: string;
  try {
    pkg = npmPackageDir();
  } catch (err) {
    throw new Error(`browser test: no system Chromium at ${systemChromium} and the devDependency @sparticuz/chromium is not installed (${(err as Error).message.split('\n')[0]}). Fix: ${chromiumFix}`);
  }
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
  const dir = join(tmpdir(), `dualtape-chromium-${version}`);
  const path = join(dir, 'chromium');
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const part = `${path}.${process.pid}.part`;
    writeFileSync(part, brotliDecompressSync(readFileSync(join(pkg, 'bin', 'chromium.br'))), { mode: 0o755 });
    renameSync(part, path);
  }
  return { path, source: 'npm' };
}

/** Finds a Chromium to launch, or throws an Error whose message ends with the fix. */
export function findChromium(env: string | undefined = process.env.DUALTAPE_CHROMIUM): FoundChromium {
  if (env === 'npm') return npmChromium();
  if (env === 'system' || (!env && existsSync(systemChromium))) {
    if (!existsSync(systemChromium)) {
      throw new Error(`browser test: DUALTAPE_CHROMIUM=system but ${systemChromium} is missing. Fix: ${chromiumFix}`);
    }
    return { path: systemChromium, source: 'system' };
  }
  if (env) {
    if (!existsSync(env)) throw new Error(`browser test: DUALTAPE_CHROMIUM=${env} does not exist. Fix: unset DUALTAPE_CHROMIUM and ${chromiumFix}`);
    return { path: env, source: 'env' };
  }
  return npmChromium();
}
