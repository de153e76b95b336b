// Loads the kernel module: synchronously in Node (so `import` is enough there), asynchronously
// in browsers (which refuse synchronous compilation of large modules on the main thread).
import { wasmBase64 } from '../../build/wasm.js';
import { NotReadyError } from '../errors.js';

export type KernelExports = Record<string, (...args: number[]) => number> & {
  memory: WebAssembly.Memory;
};

let instance: KernelExports | null = null;
let pending: Promise<void> | null = null;

function decodeBase64(text: string): Uint8Array {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) return new Uint8Array(g.Buffer.from(text, 'base64'));
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

const imports = {
  env: {
    abort(_msg: number, _file: number, line: number, col: number): never {
      throw new Error(`dualtape kernel aborted at ${line}:${col}`);
    },
    seed: () => 0,
  },
};

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return !!p?.versions?.node;
}

/** Instantiates the module now if this environment allows synchronous compilation. */
export function tryInitSync(): void {
  if (instance || !isNode()) return;
  const module = new WebAssembly.Module(decodeBase64(wasmBase64) as BufferSource);
  instance = new WebAssembly.Instance(module, imports).exports as KernelExports;
}

/** Resolves once the kernels are instantiated; safe to call any number of times. */
export function ready(): Promise<void> {
  if (instance) return Promise.resolve();
  pending ??= WebAssembly.instantiate(decodeBase64(wasmBase64) as BufferSource, imports).then((r) => {
    instance = r.instance.exports as KernelExports;
  }, (err: unknown) => {
    pending = null;
    // A page's Content-Security-Policy treats compiling wasm from bytes like eval.
    throw new NotReadyError(`dualtape: the WebAssembly kernels could not be compiled (${err instanceof Error ? err.message : String(err)}). On a page with a Content-Security-Policy, add 'wasm-unsafe-eval' to script-src ('unsafe-eval' is optional: it lets jit compile programs of scalars and small tensors to JavaScript; without it they run interpreted).`);
  });
  return pending;
}

export function kernels(): KernelExports {
  if (!instance) {
    throw new NotReadyError('dualtape: the WebAssembly kernels are not loaded yet. Call `await ready()` once before the first op (needed in browsers; Node loads them on import).');
  }
  return instance;
}

tryInitSync();
