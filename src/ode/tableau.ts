// The Dormand-Prince 5(4) pair (J. R. Dormand and P. J. Prince, "A family of embedded
// Runge-Kutta formulae", J. Comput. Appl. Math. 6, 1980), with the dense-output coefficients
// of Hairer's DOPRI5 (E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary Differential
// Equations I, 2nd ed., section II.6): a continuous extension of order 4 that costs no extra
// evaluation of f. The seventh stage is f at the new point (first same as last), so an
// accepted step hands it to the next as its first stage.

/** Nodes c_i of stages 2..7 (stage 1 is at c = 0). */
export const C = [1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1] as const;

/** Rows a_{i,j} of stages 2..7; row 7 is the fifth-order solution's weights b_j. */
export const A: readonly (readonly number[])[] = [
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];

/** The error weights b_j - b*_j (fifth minus embedded fourth order), stages 1..7. */
export const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40] as const;

/** Hairer's dense-output weights d_j, stages 1..7 (the interpolant's fifth coefficient is h sum d_j k_j). */
export const D = [
  -12715105075 / 11282082432, 0, 87487479700 / 32700410799, -10690763975 / 1880347072,
  701980252875 / 199316789632, -1453857185 / 822651844, 69997945 / 29380423,
] as const;
