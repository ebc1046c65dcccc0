/**
 * Prepares the next batches (RandAugment -> flip -> normalise -> erasing, the official
 * order) while the current one trains. With `workers: 1` the work runs in a Deno Worker,
 * i.e. on the second core while the wasm backend trains on the main thread; `workers: 0`
 * prepares each batch synchronously when it is asked for.
 *
 * Determinism: the worker draws from a copy of the caller's Prng, job after job in
 * order, so both modes give bit-identical batches; when an epoch's iteration ends (or
 * breaks early), the caller's Prng is left in the state it would have after preparing
 * exactly the batches that were consumed, synchronously — checkpoints stay valid.
 *
 * The main thread only gathers each batch's uint8 images (a copy, from a flat array or
 * an image store) and posts them; the worker needs no shared memory and no files.
 *
 * @example
 * ```ts
 * import { BatchPipeline } from "./pipeline.ts";
 * import { Prng } from "../util/prng.ts";
 * const S = 8;
 * const images = new Uint8Array(4 * S * S * 3).map((_, i) => i % 256);
 * const pipe = new BatchPipeline({ images, labels: Int32Array.from([0, 1, 2, 3]) }, {
 *   imageSize: S, augment: { randAugment: true, flip: true, erasing: true }, prng: new Prng(1), workers: 1,
 * });
 * try {
 *   for await (const b of pipe.epoch([Int32Array.from([0, 1]), Int32Array.from([2, 3])])) {
 *     if (b.x.length !== 2 * S * S * 3) throw new Error("bad batch");
 *   }
 * } finally {
 *   pipe.close();
 * }
 * ```
 */
import type { Prng } from "../util/prng.ts";
import { type AugmentOptions, type HostBatch, imageAt, type ImageSource, prepareBatch } from "./augment/prepare.ts";
import type { FromWorker, ToWorker } from "./pipeline_worker.ts";

/** Options of `BatchPipeline`. */
export interface PipelineOptions {
  /** side S of the stored images */
  imageSize: number;
  /** augmentations (need `prng`) */
  augment?: AugmentOptions;
  /** the augmentation stream; advanced as if the consumed batches were prepared synchronously */
  prng?: Prng;
  /** TenCrop side (SFEW), optional */
  tenCrop?: number;
  /** 0: synchronous; 1: one Deno Worker (default 1) */
  workers?: 0 | 1;
  /** batches prepared ahead (default 2) */
  prefetch?: number;
}

interface Pending {
  resolve: (m: Extract<FromWorker, { type: "batch" }>) => void;
  reject: (e: Error) => void;
}

/** Prepares batches ahead of training, in a worker or synchronously; `close()` when done. */
export class BatchPipeline {
  readonly #split: { images: ImageSource; labels: ArrayLike<number> };
  readonly #options: PipelineOptions;
  #worker: Worker | null = null;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #busy = false;
  #closed = false;
  #failure: Error | null = null;

  /** Starts the worker when `workers` is 1 (the default); `split.images` is [N, S, S, 3] or a store. */
  constructor(split: { images: ImageSource; labels: ArrayLike<number> }, options: PipelineOptions) {
    const workers = options.workers ?? 1;
    if (workers !== 0 && workers !== 1) throw new RangeError(`workers must be 0 or 1, got ${workers}`);
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new RangeError(`prefetch must be a positive integer, got ${prefetch}`);
    }
    if (!Number.isInteger(options.imageSize) || options.imageSize < 1) {
      throw new RangeError(`imageSize must be a positive integer, got ${options.imageSize}`);
    }
    const t = options.tenCrop;
    if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > options.imageSize)) {
      throw new RangeError(`tenCrop must be an integer in [1, imageSize = ${options.imageSize}], got ${t}`);
    }
    this.#split = split;
    this.#options = { ...options, workers, prefetch };
    if (workers === 1) this.#startWorker();
  }

  /** Whether batches are prepared in a worker. */
  get usesWorker(): boolean {
    return this.#worker !== null;
  }

  #startWorker(): void {
    const w = new Worker(new URL("./pipeline_worker.ts", import.meta.url).href, { type: "module" });
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      const msg = e.data;
      const p = this.#pending.get(msg.id);
      if (p === undefined) return; // a batch prefetched for an epoch that was left early
      this.#pending.delete(msg.id);
      if (msg.type === "batch") p.resolve(msg);
      else p.reject(new Error(`batch pipeline worker: ${msg.message}`));
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(new Error(`batch pipeline worker failed: ${e.message}`));
    };
    w.onmessageerror = () => this.#fail(new Error("batch pipeline worker: a message could not be decoded"));
    const { imageSize, augment, tenCrop, prng } = this.#options;
    const init: ToWorker = { type: "init", imageSize, augment: prng === undefined ? undefined : augment, tenCrop };
    w.postMessage(init);
    this.#worker = w;
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Gathers the batch's images and labels and posts one job; the promise never rejects unhandled. */
  #submit(indices: ArrayLike<number>, state: number[] | undefined): Promise<Extract<FromWorker, { type: "batch" }>> {
    const s = this.#options.imageSize;
    const px = s * s * 3;
    const b = indices.length;
    const images = new Uint8Array(b * px);
    const labels = new Int32Array(b);
    const idx = Int32Array.from(indices);
    for (let k = 0; k < b; k++) {
      images.set(imageAt(this.#split.images, idx[k], s), k * px);
      labels[k] = this.#split.labels[idx[k]];
    }
    const id = this.#nextId++;
    const promise = new Promise<Extract<FromWorker, { type: "batch" }>>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    promise.catch(() => {}); // awaited later; never an unhandled rejection if the epoch is left first
    const job: ToWorker = { type: "job", id, state, images, labels, indices: idx };
    this.#worker!.postMessage(job, [images.buffer]);
    return promise;
  }

  /**
   * The prepared batches of one epoch, in the order of `batches` (each a list of indices).
   * One epoch at a time; leaving the loop early is fine.
   */
  async *epoch(batches: readonly ArrayLike<number>[]): AsyncGenerator<HostBatch> {
    if (this.#closed) throw new Error("BatchPipeline.epoch() called after close()");
    if (this.#busy) throw new Error("BatchPipeline.epoch() called while another epoch is being iterated");
    this.#busy = true;
    const { imageSize, augment, prng, tenCrop } = this.#options;
    try {
      if (this.#worker === null) {
        for (const idx of batches) yield prepareBatch(this.#split, idx, { imageSize, augment, prng, tenCrop });
        return;
      }
      if (this.#failure) throw this.#failure;
      let lastState: number[] | null = null;
      const queue: Promise<Extract<FromWorker, { type: "batch" }>>[] = [];
      let next = 0;
      const depth = this.#options.prefetch!;
      const ids: number[] = [];
      try {
        const start = prng?.getState();
        while (next < batches.length && queue.length < depth) {
          ids.push(this.#nextId);
          queue.push(this.#submit(batches[next], next === 0 ? start : undefined));
          next++;
        }
        while (queue.length > 0) {
          const msg = await queue.shift()!;
          if (next < batches.length) {
            ids.push(this.#nextId);
            queue.push(this.#submit(batches[next++], undefined));
          }
          lastState = msg.state;
          const batch: HostBatch = {
            indices: msg.indices,
            x: msg.x,
            labels: msg.labels,
            imageSize: msg.imageSize,
          };
          if (msg.crops > 1) batch.crops = msg.crops;
          yield batch;
        }
      } finally {
        for (const id of ids) this.#pending.delete(id); // results still in flight are dropped
        if (prng !== undefined && lastState !== null) prng.setState(lastState);
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Stops the worker (if any); pending batches are dropped. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(new Error("BatchPipeline closed"));
    this.#worker?.terminate();
    this.#worker = null;
  }
}
