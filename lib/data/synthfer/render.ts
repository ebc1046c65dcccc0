/**
 * Rasterises SynthFER faces with sharp (librsvg) into raw RGB pixels.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import type { FaceParams } from "./face_params.ts";
import { faceSvg } from "./face_svg.ts";

/** How many faces are in flight at once: enough to keep libuv's thread pool busy. */
export const DEFAULT_RENDER_CONCURRENCY = 12;

/** One SVG (drawn at `size` x `size`) to raw RGB pixels. [S, S, 3] */
export async function rasterizeSvg(svg: string, size: number): Promise<Uint8Array> {
  let { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size) {
    // the SVG declares its size, so this only happens if librsvg rounds differently
    ({ data, info } = await sharp(Buffer.from(svg)).resize(size, size, { fit: "fill" }).removeAlpha().raw()
      .toBuffer({ resolveWithObject: true }));
  }
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new RangeError(`sharp gave ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Renders every face at `size` x `size` into one array. [N, S, S, 3] RGB, row-major.
 * Up to `concurrency` faces are rasterised at once; `onProgress` hears the running count.
 */
export async function renderFaces(
  params: readonly FaceParams[],
  size: number,
  options: { concurrency?: number; onProgress?: (done: number) => void } = {},
): Promise<Uint8Array> {
  const stride = size * size * 3;
  const pixels = new Uint8Array(params.length * stride);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? DEFAULT_RENDER_CONCURRENCY, params.length));
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < params.length) {
      const i = next++;
      pixels.set(await rasterizeSvg(faceSvg(params[i], size), size), i * stride);
      done++;
      options.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return pixels;
}
