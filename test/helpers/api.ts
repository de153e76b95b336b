// Tests import the library from its source through this file, plus a few internals.
export * from '../../src/index.js';
export { seededUniform as seededUniformForTests } from '../../src/tensor/create.js';
export { fusedKernels } from '../../src/core/fusion.js';
export { codegenControl, compiledOf, SMALL_SIZE } from '../../src/staging/codegen.js';
