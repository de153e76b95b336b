// JS mistakes become errors: a tensor used as a JS number throws a ConversionError naming
// item() and the tensor ops; string conversion still prints. Tensors are disposable, so
// `using` frees them at the end of their block.
import { existsSync, readFileSync } from 'node:fs';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConversionError, DisposedError, array, exp, grad, memory, scalar, tanh, type Tensor } from './helpers/api.js';

let atStart = 0;
beforeEach(() => { atStart = memory().bytesInUse; });
afterEach(() => { expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart); });

// Untyped on purpose: these are the mistakes plain JavaScript lets through.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const loose = (t: Tensor): any => t;

describe('a tensor used as a JS number', () => {
  const cases: [string, (x: ReturnType<typeof loose>) => unknown][] = [
    ['x * 2', (x) => x * 2],
    ['x > 0', (x) => x > 0],
    ['+x', (x) => +x],
    ['Math.tanh(x)', (x) => Math.tanh(x)],
    ['x + 1', (x) => x + 1],
    ['x == 1', (x) => x == 1], // eslint-disable-line eqeqeq
    ['Number(x)', (x) => Number(x)],
  ];
  for (const [what, use] of cases) {
    it(`throws a ConversionError for ${what}`, () => {
      const x = scalar(0.5);
      expect(() => use(loose(x))).toThrow(ConversionError);
      x.dispose();
    });
  }

  it('names item() and the tensor ops to use instead, and the shape and dtype', () => {
    const x = array([1, 2], { dtype: 'float32' });
    let message = '';
    try {
      void (loose(x) * 2);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/item\(\)/);
    for (const op of ['mul', 'greater', 'tanh']) expect(message).toContain(op);
    expect(message).toContain('[2] (float32)');
    x.dispose();
  });

  it('throws for a tracer inside a transform, where the mistake usually happens', () => {
    expect(() => grad((x: Tensor) => tanh(loose(x) * 2))(1)).toThrow(ConversionError);
  });
});

describe('string conversion', () => {
  it('prints the tensor with String(x) and in template literals', () => {
    const x = array([1, 2]);
    expect(String(x)).toBe('Tensor([1,2], shape=[2], dtype=float64)');
    expect(`${x}`).toBe(String(x));
    x.dispose();
  });
});

describe('tensors are disposable', () => {
  it('Symbol.dispose is defined and frees the tensor', () => {
    expect(typeof Symbol.dispose).toBe('symbol');
    const before = memory().bytesInUse;
    const x = array([1, 2, 3]);
    x[Symbol.dispose]();
    expect(memory().bytesInUse).toBe(before);
    expect(() => x.toArray()).toThrow(DisposedError);
  });

  it('`using` frees a tensor at the end of its block', () => {
    using x = array([0, 1]);
    const before = memory();
    let inner: Tensor | null = null;
    {
      using y = exp(x);
      inner = y;
      expect(memory().tensors).toBe(before.tensors + 1);
      expect(y.toArray()).toEqual([1, Math.exp(1)]);
    }
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
    expect(() => inner!.toArray()).toThrow(DisposedError);
  });

  it('`using` also frees the tensor when the block throws', () => {
    const before = memory().bytesInUse;
    expect(() => {
      using y = array([1, 2]);
      void y;
      throw new Error('boom');
    }).toThrow('boom');
    expect(memory().bytesInUse).toBe(before);
  });

  it('a runtime without Symbol.dispose gets it polyfilled (the CommonJS bundle in a fresh realm)', async () => {
    const bundle = new URL('../dist/index.cjs', import.meta.url);
    expect(existsSync(bundle), 'dist/index.cjs is missing: run npm install (or npm run build) first').toBe(true);
    // A vm context has V8's own intrinsics, without the Symbol.dispose Node adds to its main realm.
    const context = vm.createContext({ setTimeout, clearTimeout, FinalizationRegistry, WebAssembly, TextDecoder, atob, Buffer, performance, console });
    expect(vm.runInContext('typeof Symbol.dispose', context)).toBe('undefined');
    const module = { exports: {} };
    (vm.runInContext(`(function (module, exports) {${readFileSync(bundle, 'utf8')}\n})`, context) as (m: object, e: object) => void)(module, module.exports);
    context.d = module.exports;
    await (module.exports as { ready: () => Promise<void> }).ready();
    const freed = vm.runInContext(`(() => {
      const x = d.array([1, 2]);
      const before = d.memory().bytesInUse;
      x[Symbol.dispose]();
      return [typeof Symbol.dispose, Symbol.dispose === Symbol.for('Symbol.dispose'), before - d.memory().bytesInUse];
    })()`, context) as unknown[];
    expect(Array.from(freed)).toEqual(['symbol', true, 16]);
  });
});
