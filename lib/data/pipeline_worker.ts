/**
 * The worker side of `BatchPipeline` (lib/data/pipeline.ts): receives gathered uint8
 * images of one batch, prepares the batch (RandAugment -> flip -> normalise -> erasing)
 * with its own copy of the augmentation Prng, and posts the float32 batch back with the
 * Prng state after it. Jobs are handled strictly in arrival order, so the random stream
 * is the same as preparing the batches one after another on the main thread.
 */
/// <reference lib="deno.worker" />
import { type AugmentOptions, prepareBatch } from "./augment/prepare.ts";
import { Prng } from "../util/prng.ts";

/** Main -> worker messages. */
export type ToWorker =
  | { type: "init"; imageSize: number; augment?: AugmentOptions; tenCrop?: number }
  | {
    type: "job";
    id: number;
    /** Prng state to start from (first job of an epoch), else continue */
    state?: number[];
    /** [B, S, S, 3] gathered images of the batch */
    images: Uint8Array;
    labels: Int32Array;
    indices: Int32Array;
  };

/** Worker -> main messages. */
export type FromWorker =
  | {
    type: "batch";
    id: number;
    x: Float32Array;
    labels: Int32Array;
    indices: Int32Array;
    imageSize: number;
    crops: number;
    state: number[] | null;
  }
  | { type: "error"; id: number; message: string };

let config: { imageSize: number; augment?: AugmentOptions; tenCrop?: number } = { imageSize: 0 };
let prng: Prng | undefined;

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === "init") {
    config = { imageSize: msg.imageSize, augment: msg.augment, tenCrop: msg.tenCrop };
    prng = msg.augment === undefined ? undefined : new Prng(0);
    return;
  }
  try {
    if (msg.state !== undefined && prng !== undefined) prng.setState(msg.state);
    const local = Int32Array.from({ length: msg.indices.length }, (_, k) => k);
    const b = prepareBatch({ images: msg.images, labels: msg.labels }, local, {
      imageSize: config.imageSize,
      augment: config.augment,
      prng,
      tenCrop: config.tenCrop,
    });
    const crops = b.crops ?? 1;
    const indices = new Int32Array(b.indices.length);
    for (let j = 0; j < indices.length; j++) indices[j] = msg.indices[Math.floor(j / crops)];
    const out: FromWorker = {
      type: "batch",
      id: msg.id,
      x: b.x,
      labels: b.labels,
      indices,
      imageSize: b.imageSize,
      crops,
      state: prng?.getState() ?? null,
    };
    self.postMessage(out, [b.x.buffer as ArrayBuffer]);
  } catch (err) {
    const out: FromWorker = { type: "error", id: msg.id, message: err instanceof Error ? err.message : String(err) };
    self.postMessage(out);
  }
};
