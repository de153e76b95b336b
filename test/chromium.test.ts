// The browser test's Chromium search (test/helpers/chromium.ts): it finds a Chromium that
// exists on this machine, or fails with a message that ends in the one-line fix.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromiumFix, findChromium, systemChromium } from './helpers/chromium.js';

describe('findChromium', () => {
  it('uses the system Chromium when there is one, else the npm one, and the file exists', () => {
    const found = findChromium('');
    expect(found.source).toBe(existsSync(systemChromium) ? 'system' : 'npm');
    expect(existsSync(found.path)).toBe(true);
  }, 60_000);

  it('unpacks the devDependency @sparticuz/chromium when forced with DUALTAPE_CHROMIUM=npm', () => {
    const found = findChromium('npm');
    expect(found.source).toBe('npm');
    expect(existsSync(found.path)).toBe(true);
  }, 60_000);

  it('fails with the one-line fix when the named Chromium does not exist', () => {
    expect(() => findChromium('/nonexistent/chromium')).toThrow(chromiumFix);
  });

  it('fails with the one-line fix when DUALTAPE_CHROMIUM=system and there is none', () => {
    if (existsSync(systemChromium)) expect(findChromium('system').path).toBe(systemChromium);
    else expect(() => findChromium('system')).toThrow(chromiumFix);
  });
});
