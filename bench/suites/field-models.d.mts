// Types of the field suite's dualtape workloads (field-models.mjs), for the tests that check them.
import type * as Dualtape from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

type Lib = typeof Dualtape;
interface LotkaVolterraSetting { x0: number; y0: number; h: number; steps: number }

export function logsumexpModel(dt: Lib): (x: Tensor) => Tensor;
export function logsumexpComposedModel(dt: Lib): (x: Tensor) => Tensor;
export function odeModel(dt: Lib, s: number): (x: Tensor) => Tensor;
export function lstmModel(dt: Lib): (main: Tensor, extra: Tensor, state: Tensor, seq: Tensor) => Tensor;
export function detModel(dt: Lib): (A: Tensor) => Tensor;
export function lotkaVolterraModel(dt: Lib, setting: LotkaVolterraSetting): (p: Tensor[]) => Tensor;
export function lotkaVolterraForiModel(dt: Lib, setting: LotkaVolterraSetting): (p: Tensor[]) => Tensor;
export function rosenbrockModel(dt: Lib): (x: Tensor, y: Tensor) => Tensor;
