// The type-level side of the transforms: which arguments a transformed function takes and
// what it returns, computed from f's own types. Shared by grad, valueAndGrad, vjp, jvp,
// jacfwd, jacrev, jacobian, hessian, hvp, finiteDiff and the optimizers; vmap and jit are
// meant to reuse them (TreeArgs for their arguments, Tensors for their outputs).
//
// Untyped functions stay usable: where f's parameters are `any` (an unannotated lambda in
// JavaScript-style code) every helper gives `any` back instead of guessing.
import type { Tensor } from '../tensor/tensor.js';

/** True when T is `any`. */
export type IsAny<T> = 0 extends 1 & T ? true : false;

/** A function a transform accepts; which of its arguments are trees is checked per call. */
export type AnyFunction = (...args: any[]) => unknown;

/** `argnums`: one argument position, or several (then the result is a tuple). */
export type Argnums = number | readonly number[];

/**
 * True when T is a differentiable argument tree: leaves are types a Tensor may be passed as
 * (the transform hands f a tensor, a tracer, at every leaf), null or undefined; inner nodes
 * are arrays, tuples or plain objects (interfaces or type literals). A leaf typed `number`
 * alone is not one: f would receive a tensor there.
 */
export type IsTree<T> = IsAny<T> extends true ? true
  : Tensor extends T ? true
  : [T] extends [null | undefined] ? true
  : T extends (...args: never[]) => unknown ? false
  : T extends string | number | boolean | bigint | symbol ? false
  : T extends ArrayBufferView ? false
  : T extends readonly unknown[] ? (false extends { [K in keyof T]: IsTree<T[K]> }[number] ? false : true)
  : T extends object ? (false extends { [K in keyof T]-?: IsTree<T[K]> }[keyof T] ? false : true)
  : false;

/**
 * A tree whose leaves may be tensors or plain numbers, shaped like T: what a transformed
 * function accepts for a differentiated argument, and the type of tangents and cotangents.
 */
export type TensorLikes<T> = IsAny<T> extends true ? any
  : Tensor extends T ? T | number
  : T extends Tensor | number ? Tensor | number
  : T extends null | undefined ? T
  : T extends readonly unknown[] ? { readonly [K in keyof T]: TensorLikes<T[K]> }
  : T extends object ? { readonly [K in keyof T]: TensorLikes<T[K]> }
  : never;

/**
 * A tree with every leaf as a Tensor: what a transform returns for a tree of tensors and
 * numbers (a number argument's gradient is a 0-d tensor), keeping arrays, tuples and object
 * keys; null and undefined stay.
 */
export type Tensors<T> = IsAny<T> extends true ? any
  : Tensor extends T ? Tensor
  : T extends Tensor | number ? Tensor
  : T extends null | undefined ? T
  : T extends readonly unknown[] ? { -readonly [K in keyof T]: Tensors<T[K]> }
  : T extends object ? { -readonly [K in keyof T]: Tensors<T[K]> }
  : never;

/** The gradient of a tree argument: the same tree, every leaf a Tensor. */
export type Gradient<T> = Tensors<T>;

/** The positions `argnums` selects, as a union of tuple keys ('0' | '2'). */
type Selected<N extends Argnums> = N extends number ? `${N}` : N extends readonly number[] ? `${N[number]}` : never;

/** Stands in for an argument that must be a tree but is not: nothing is assignable to it. */
export type NotATree = { readonly 'this argument is differentiated, so it must be a Tensor, a number, or an array or plain object of them': never };

/**
 * The arguments of a transformed f: f's own, except that each differentiated one (`argnums`)
 * must be a tree, and may hold plain numbers where f takes tensors.
 */
export type TreeArgs<P extends readonly unknown[], N extends Argnums = number> = {
  [K in keyof P]: K extends Selected<N> ? (IsTree<P[K]> extends true ? TensorLikes<P[K]> : NotATree) : P[K];
};

/** The gradient for `argnums`: one tree for a number, a tuple of trees for an array. */
export type GradientOf<P extends readonly unknown[], N extends Argnums> = N extends number
  ? Gradient<P[N]>
  : { -readonly [K in keyof N]: Gradient<P[N[K] & number]> };

/** One gradient tree per argument, as vjp's pullback and hvp return them. */
export type Gradients<P extends readonly unknown[]> = { -readonly [K in keyof P]: Gradient<P[K]> };

/**
 * A Jacobian laid out as dualtape returns it: f's output tree R with each leaf replaced by
 * G (the gradient-shaped tree for the differentiated arguments).
 */
export type Jacobian<R, G> = IsAny<R> extends true ? any
  : R extends Tensor | number ? G
  : R extends null | undefined ? R
  : R extends readonly unknown[] ? { -readonly [K in keyof R]: Jacobian<R[K], G> }
  : R extends object ? { -readonly [K in keyof R]: Jacobian<R[K], G> }
  : never;

/** A scalar-valued function's result: a tensor or a number. */
export type Scalar = Tensor | number;
