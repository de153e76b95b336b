// The allocator reuses freed space before it reports out of memory (issue #18, item 6): after
// disposing 14 tensors of 256 MiB, a 3.8 GB tensor fits in the 4 GiB wasm memory, as it does
// in a fresh process. This file takes the process's wasm memory to its 4 GiB limit.
import { describe, expect, it } from 'vitest';
import { memory, zeros, type Tensor } from './helpers/api.js';

describe('allocator reuse', () => {
  it('serves a request larger than any free block by merging free blocks at the top of memory', () => {
    const before = memory().bytesInUse;
    const blocks: Tensor[] = [];
    for (let i = 0; i < 14; i++) blocks.push(zeros([2 ** 25])); // 256 MiB each
    for (const b of blocks) b.dispose();
    expect(memory().bytesInUse).toBe(before);
    const big = zeros([475_000_000]); // 3.8 GB: more than the 3.5 GiB of free blocks
    expect(big.size).toBe(475_000_000);
    expect(memory().bytesInUse).toBeGreaterThanOrEqual(before + 475_000_000 * 8);
    big.dispose();
    expect(memory().bytesInUse).toBe(before);
    // The freed space serves the 256 MiB blocks again.
    const again = zeros([2 ** 25]);
    again.dispose();
  }, 120_000);
});
