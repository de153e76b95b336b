// Hand-written 2-state Lotka-Volterra RK4 loop and its gradient with respect to the four
// parameters [alpha, beta, gamma, delta]: the jit suite's baseline (bench/suites/jit-plain.mjs,
// forward-mode sensitivities of the discrete RK4 map, derivation there), re-exported so that
// every workload of the field suite has its manual baseline under bench/manual/.
export {
  lotkaVolterraPlain as lotkaVolterra, lotkaVolterraPlainGrad as lotkaVolterraValueAndGrad,
} from '../suites/jit-plain.mjs';

/** The setting both suites time: parameters, initial state, step and step count. */
export const LV = { p: [1.5, 1, 3, 1], x0: 10, y0: 5, h: 0.01, steps: 2000 };
