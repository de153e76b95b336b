// The switch for the fused kernels (assembly/dual.ts): forward mode's op-and-tangent kernels
// and reverse mode's cotangent kernels. They return the same bits as the rules they replace;
// tests turn them off to compare, and read `calls` to know the fused path ran.

/** @internal */
export const fusedKernels = { enabled: true, calls: 0 };
