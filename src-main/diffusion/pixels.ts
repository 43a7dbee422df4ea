/**
 * The one conversion between 8-bit pixels and the model's data range [-1, 1] (DDPM, Ho et al. 2020
 * §3.3: "image data consists of integers in {0, 1, ..., 255} scaled linearly to [-1, 1]").
 */

/** A byte 0..255 to [-1, 1]: v / 127.5 - 1. */
export function byteToModel(v: number): number {
  return v / 127.5 - 1;
}

/** A model value to a byte: round((x + 1) 127.5), clipped to 0..255. */
export function modelToByte(x: number): number {
  const v = Math.round((x + 1) * 127.5);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Bytes to the model range, element by element. */
export function toModelRange(bytes: ArrayLike<number>): Float32Array {
  return Float32Array.from(bytes, byteToModel);
}

/** Model values to bytes, element by element (rounded, clipped). */
export function toBytes(x: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(x, modelToByte);
}
