// Chainable methods (x.mul(y).sum()) attached to Tensor by declaration merging, so that
// src/tensor/ never imports src/ops/. Tracers inherit them, so user code reads the same
// inside and outside transforms.
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/tensor.js';
import { astype, type TensorLike } from './convert.js';
import * as ew from './elementwise.js';
import * as la from './linalg.js';
import { matmul, dot } from './matmul.js';
import * as red from './reduce.js';
import * as sh from './shape.js';
import * as sm from './sum.js';
import * as ix from './indexing.js';

type Axes = number | readonly number[] | null;

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    maximum(b: TensorLike): Tensor;
    minimum(b: TensorLike): Tensor;
    greater(b: TensorLike): Tensor;
    less(b: TensorLike): Tensor;
    equal(b: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tan(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    sqrt(): Tensor;
    square(): Tensor;
    abs(): Tensor;
    matmul(b: TensorLike): Tensor;
    dot(b: TensorLike): Tensor;
    sum(axes?: Axes, options?: red.ReduceOptions): Tensor;
    mean(axes?: Axes, options?: red.ReduceOptions): Tensor;
    max(axes?: Axes, options?: red.ReduceOptions): Tensor;
    min(axes?: Axes, options?: red.ReduceOptions): Tensor;
    logsumexp(axes?: Axes, options?: red.ReduceOptions): Tensor;
    softmax(axis?: number): Tensor;
    reshape(shape: readonly number[]): Tensor;
    transpose(perm?: readonly number[]): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    slice(begin: readonly number[], size?: readonly number[]): Tensor;
    astype(dtype: DType): Tensor;
    /** The inverse of each matrix in [..., n, n] (see `inv`; prefer `solve` for A^{-1} B). */
    inv(): Tensor;
    /** The determinant of each matrix in [..., n, n] (see `det`). */
    det(): Tensor;
    /** log|det| of each matrix in [..., n, n] (see `logdet`). */
    logdet(): Tensor;
    /** The lower Cholesky factor of each symmetric positive definite matrix (see `cholesky`). */
    cholesky(): Tensor;
    /** The transpose of a matrix (reversed axes). */
    readonly T: Tensor;
  }
}

const p = Tensor.prototype;
p.add = function (b) { return ew.add(this, b); };
p.sub = function (b) { return ew.sub(this, b); };
p.mul = function (b) { return ew.mul(this, b); };
p.div = function (b) { return ew.div(this, b); };
p.pow = function (b) { return ew.pow(this, b); };
p.maximum = function (b) { return ew.maximum(this, b); };
p.minimum = function (b) { return ew.minimum(this, b); };
p.greater = function (b) { return ew.greater(this, b); };
p.less = function (b) { return ew.less(this, b); };
p.equal = function (b) { return ew.equal(this, b); };
p.neg = function () { return ew.neg(this); };
p.exp = function () { return ew.exp(this); };
p.log = function () { return ew.log(this); };
p.sin = function () { return ew.sin(this); };
p.cos = function () { return ew.cos(this); };
p.tan = function () { return ew.tan(this); };
p.tanh = function () { return ew.tanh(this); };
p.sigmoid = function () { return ew.sigmoid(this); };
p.sqrt = function () { return ew.sqrt(this); };
p.square = function () { return ew.square(this); };
p.abs = function () { return ew.abs(this); };
p.matmul = function (b) { return matmul(this, b); };
p.dot = function (b) { return dot(this, b); };
p.sum = function (axes, options) { return sm.sum(this, axes, options); };
p.mean = function (axes, options) { return red.mean(this, axes, options); };
p.max = function (axes, options) { return red.max(this, axes, options); };
p.min = function (axes, options) { return red.min(this, axes, options); };
p.logsumexp = function (axes, options) { return red.logsumexp(this, axes, options); };
p.softmax = function (axis) { return red.softmax(this, axis); };
p.reshape = function (shape) { return sh.reshape(this, shape); };
p.transpose = function (perm) { return sh.transpose(this, perm); };
p.broadcastTo = function (shape) { return sm.broadcastTo(this, shape); };
p.slice = function (begin, size) { return sh.slice(this, begin, size); };
p.astype = function (dtype) { return astype(this, dtype); };
// Only the one-matrix ops, as PyTorch has them (A.inverse(), A.det()); solve stays a function,
// since in a method call it would be unclear which operand is the matrix.
p.inv = function () { return la.inv(this); };
p.det = function () { return la.det(this); };
p.logdet = function () { return la.logdet(this); };
p.cholesky = function () { return la.cholesky(this); };
Object.defineProperty(p, 'T', { get(this: Tensor) { return sh.transpose(this); }, configurable: true });

// Indexing methods (src/ops/indexing.ts), as NumPy's x.take, x.argmax, x.argsort, x.sort.
declare module '../tensor/tensor.js' {
  interface Tensor {
    /** The elements at `indices` along `axis` (see `take`). */
    take(indices: ix.Indices, axis?: number): Tensor;
    /** int32 positions of the largest elements along `axis` (see `argmax`). */
    argmax(axis?: number, options?: { keepdims?: boolean }): Tensor;
    /** int32 positions of the smallest elements along `axis` (see `argmin`). */
    argmin(axis?: number, options?: { keepdims?: boolean }): Tensor;
    /** int32 positions that sort along `axis`, stable (see `argsort`). */
    argsort(axis?: number): Tensor;
    /** Sorted along `axis`, differentiable (see `sort`). */
    sort(axis?: number): Tensor;
  }
}
p.take = function (indices, axis) { return ix.take(this, indices, axis); };
p.argmax = function (axis, options) { return ix.argmax(this, axis, options); };
p.argmin = function (axis, options) { return ix.argmin(this, axis, options); };
p.argsort = function (axis) { return ix.argsort(this, axis); };
p.sort = function (axis) { return ix.sort(this, axis); };
