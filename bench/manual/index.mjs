// The hand-written baselines of the field suite, one file per workload (derivations there).
export * from './logsumexp.mjs';
export * from './ode.mjs';
export * from './lstm.mjs';
export * from './det.mjs';
export * from './lotka-volterra.mjs';
export * from './rosenbrock.mjs';
