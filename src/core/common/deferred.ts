/** A promise and the function that settles it (Promise.withResolvers, which Node 20 lacks). */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  /** Settles it; later calls change nothing. */
  readonly resolve: (value: T) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** A promise that never settles: a failure that did not happen, a race's branch that is off. */
export const NEVER: Promise<never> = new Promise<never>(() => {});
