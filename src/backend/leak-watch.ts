// Watches for synchronous loops that leak. Tensors left at top level (outside any tidy or
// transform scope) are freed by a FinalizationRegistry once dropped, but its callbacks only
// run after the running synchronous code yields to the event loop. So the top-level tensors
// created since the last yield that are still alive are what a synchronous loop can pile up:
// past a threshold we warn once, and an OutOfMemoryError reports them.

export interface LeakThresholds {
  /** Live top-level tensors created since the event loop last ran. */
  tensors: number;
  /** Their bytes (as the allocator's size classes round them). */
  bytes: number;
}

const DEFAULTS: LeakThresholds = { tensors: 10_000, bytes: 256 * 1024 * 1024 };
let thresholds: LeakThresholds = { ...DEFAULTS };

let epoch = 0;
let tensors = 0;
let bytes = 0;
let resetPending = false;
let warned = false;

/** The fixes every leak report names, in the order to try them. */
export const LEAK_FIXES = 'wrap each iteration in tidy(() => ...), call dispose() on results you are done with, declare them with `using` (tensors are disposable), or let an optimizer (sgd, momentum, adam, minimize) own the parameters and gradients';

function scheduleReset(): void {
  resetPending = true;
  const timer = setTimeout(() => {
    resetPending = false;
    epoch++;
    tensors = 0;
    bytes = 0;
  }, 0) as unknown as { unref?: () => void };
  // In Node a pending timer would keep the process alive; this one must not.
  timer.unref?.();
}

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Notes a tensor of `size` bytes left at top level; returns the epoch to hand back to
 * `forgetTopLevel` when it is disposed.
 */
export function noteTopLevel(size: number): number {
  if (!resetPending) scheduleReset();
  tensors++;
  bytes += size;
  if (!warned && (tensors > thresholds.tensors || bytes > thresholds.bytes)) {
    warned = true;
    console.warn(`dualtape: ${tensors} tensors holding ${bytes} bytes (${mib(bytes)}) were created outside tidy since the event loop last ran and are still alive. Dropped tensors are freed by a FinalizationRegistry only after synchronous code yields to the event loop, so a synchronous loop that drops tensors grows until it runs out of memory. To fix: ${LEAK_FIXES}. (This warning is shown once.)`);
  }
  return epoch;
}

/** A tensor noted in `noted` was disposed. */
export function forgetTopLevel(noted: number, size: number): void {
  if (noted !== epoch) return;
  tensors--;
  bytes -= size;
}

/** The live top-level tensors and bytes created since the event loop last ran. */
export function sinceYield(): { tensors: number; bytes: number } {
  return { tensors, bytes };
}

/**
 * @internal Test hook: sets the warning thresholds (omitted fields: the defaults) and re-arms
 * the once-only warning; returns the previous thresholds.
 */
export function setLeakThresholds(next: Partial<LeakThresholds> | null): LeakThresholds {
  const previous = thresholds;
  thresholds = { ...DEFAULTS, ...(next ?? {}) };
  warned = false;
  return previous;
}
