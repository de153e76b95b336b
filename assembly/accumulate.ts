// kernels: see index.ts for the ABI
