// Bundles tsc's output (build/ts) into dist/: ESM and CommonJS for Node and bundlers, and a
// browser ESM file. The wasm is inlined (base64), so no bundler plugin is needed downstream.
const input = 'build/ts/src/index.js';

// Op families refer to each other only inside function bodies, so their import cycles are safe.
const onwarn = (warning, warn) => {
  if (warning.code !== 'CIRCULAR_DEPENDENCY') warn(warning);
};

export default [
  {
    input,
    onwarn,
    output: [
      { file: 'dist/index.mjs', format: 'es', sourcemap: false },
      { file: 'dist/index.cjs', format: 'cjs', sourcemap: false, exports: 'named' },
    ],
  },
  {
    input,
    onwarn,
    output: { file: 'dist/browser.mjs', format: 'es', sourcemap: false },
  },
];
