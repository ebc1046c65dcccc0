/** One Ada-DF training step and the evaluation passes (forward only). */
import * as tf from "@tensorflow/tfjs";
import { type AdaDfNet, BnStatistics, targetForward } from "../model/adadf_net.ts";
import { adaDfLoss, type AdaDfLossOptions } from "../method/adadf_loss.ts";

/** Scalars of one step (read back from the backend). */
export interface StepResult {
  total: number;
  ce: number;
  kld: number;
  rr: number;
  a1: number;
  a2: number;
  /** target-branch predictions that equal the (possibly noisy) training label */
  correct: number;
  /** what the loss used for the rows of `StepOptions.recordRows`, in that order */
  recorded?: RecordedRow[];
}

/** One batch row as the loss used it: eq. 1-2, 8, 11 and 12 of that step. */
export interface RecordedRow {
  /** [C] softmax of the auxiliary logits (train mode, the augmented image) */
  labelDistribution: number[];
  /** [C] the fused target of the KL loss */
  fused: number[];
  /** eq. 11, normalised over the batch */
  w: number;
  /** eq. 8 */
  wAvg: number;
}

/**
 * Forward, the Ada-DF loss, backward, Adam update, BatchNorm running-statistics update.
 * Leaves `tf.memory().numTensors` as it found it (after the optimizer's first step
 * created its slots). x [B, S, S, 3], labels int32 [B], classDistributions [C, C].
 */
export function trainStep(
  net: AdaDfNet,
  batch: { x: tf.Tensor4D; labels: tf.Tensor1D },
  options: StepOptions,
): StepResult {
  const r = runStep(net, batch, options);
  return r.finish(r.scalars.map((t) => t.dataSync()[0]), r.rows.map((t) => t.dataSync() as Float32Array));
}

/**
 * `trainStep` that reads its scalars back asynchronously: the webgpu backend cannot read
 * synchronously under Deno (its readSync needs an OffscreenCanvas), and on the others it
 * costs nothing extra.
 */
export async function trainStepAsync(
  net: AdaDfNet,
  batch: { x: tf.Tensor4D; labels: tf.Tensor1D },
  options: StepOptions,
): Promise<StepResult> {
  const r = runStep(net, batch, options);
  const values = await Promise.all(r.scalars.map(async (t) => (await t.data())[0]));
  const rows = await Promise.all(r.rows.map(async (t) => (await t.data()) as Float32Array));
  return r.finish(values, rows);
}

/** What a training step needs besides the batch. */
export interface StepOptions {
  optimizer: tf.Optimizer;
  variables: tf.Variable[];
  classDistributions: tf.Tensor2D;
  loss: AdaDfLossOptions;
  /** batch rows whose label distribution, fused target and weights to return (the tracked samples) */
  recordRows?: number[];
}

/** The step's work up to the read-back: returns the scalar tensors and a function that disposes them. */
function runStep(net: AdaDfNet, batch: { x: tf.Tensor4D; labels: tf.Tensor1D }, options: StepOptions) {
  const bn = new BnStatistics();
  let kept: tf.Tensor[] = [];
  let rows: tf.Tensor[] = [];
  const record = options.recordRows ?? [];
  let a1 = 0;
  let a2 = 0;
  const { value, grads } = tf.variableGrads(() => {
    const out = net.apply(batch.x, { training: true, bn });
    const parts = adaDfLoss({
      auxLogits: out.auxLogits,
      tarLogits: out.tarLogits,
      wAux: out.wAux,
      wTar: out.wTar,
      labels: batch.labels,
      classDistributions: options.classDistributions,
    }, options.loss);
    a1 = parts.a1;
    a2 = parts.a2;
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(out.tarLogits, 1), batch.labels), "int32"));
    kept = [parts.ce, parts.kld, parts.rr, correct].map((t) => tf.keep(t));
    if (record.length > 0) {
      const at = tf.tensor1d(record, "int32");
      // [R, C], [R, C], [R, 1], [R, 1]: the rows as the loss used them
      rows = [parts.labelDist, parts.fused, parts.w, parts.wAvg].map((t) => tf.keep(tf.gather(t, at)));
    }
    return parts.total;
  }, options.variables);
  options.optimizer.applyGradients(grads);
  bn.apply(net.params);
  tf.dispose(Object.values(grads));
  const scalars = [value, ...kept];
  return {
    scalars,
    rows,
    finish: (v: number[], r: Float32Array[]): StepResult => {
      tf.dispose([...scalars, ...rows]);
      const [total, ce, kld, rr, correct] = v;
      const result: StepResult = { total, ce, kld, rr, a1, a2, correct };
      if (record.length > 0) {
        const [ld, fu, w, wAvg] = r;
        const c = ld.length / record.length;
        result.recorded = record.map((_, k) => ({
          labelDistribution: Array.from(ld.subarray(k * c, (k + 1) * c)),
          fused: Array.from(fu.subarray(k * c, (k + 1) * c)),
          w: w[k],
          wAvg: wAvg[k],
        }));
      }
      return result;
    },
  };
}

/** Everything the epoch-end pass over the training set needs, per sample. */
export interface AuxPassOutputs {
  /** softmax of the auxiliary logits, [N * C] */
  auxProbs: Float32Array;
  wAux: Float32Array;
  wTar: Float32Array;
  /** auxiliary predictions that equal the label (the official code's train accuracy) */
  correct: number;
  /** target predictions that equal the label */
  correctTarget: number;
}

/** Zeroed buffers for an eval-mode pass over `n` samples of `numClasses` classes. */
export function emptyAuxPass(n: number, numClasses: number): AuxPassOutputs {
  return {
    auxProbs: new Float32Array(n * numClasses),
    wAux: new Float32Array(n),
    wTar: new Float32Array(n),
    correct: 0,
    correctTarget: 0,
  };
}

/** Eval-mode forward of both branches on one batch; appends into `into` at `offset`. */
export async function auxPassBatch(
  net: AdaDfNet,
  batch: { x: tf.Tensor4D; labels: tf.Tensor1D },
  into: AuxPassOutputs,
  offset: number,
): Promise<void> {
  const c = net.config.numClasses;
  const [probs, wa, wt, correct, correctTarget] = tf.tidy(() => {
    const out = net.apply(batch.x, { training: false });
    return [
      tf.softmax(out.auxLogits),
      out.wAux,
      out.wTar,
      tf.sum(tf.cast(tf.equal(tf.argMax(out.auxLogits, 1), batch.labels), "int32")),
      tf.sum(tf.cast(tf.equal(tf.argMax(out.tarLogits, 1), batch.labels), "int32")),
    ];
  });
  const [p, a, t, k, kt] = await Promise.all([probs, wa, wt, correct, correctTarget].map((x) => x.data()));
  into.auxProbs.set(p as Float32Array, offset * c);
  into.wAux.set(a as Float32Array, offset);
  into.wTar.set(t as Float32Array, offset);
  into.correct += k[0];
  into.correctTarget += kt[0];
  tf.dispose([probs, wa, wt, correct, correctTarget]);
}

/** Target-branch outputs on one batch (inference uses the target branch only). */
export function targetBatch(
  net: AdaDfNet,
  x: tf.Tensor4D,
): { logits: Float32Array; attention: Float32Array; features: Float32Array } {
  const [l, a, f] = tf.tidy(() => {
    const o = targetForward({ params: net.params, training: false, kernels: net.kernels }, net.config, x);
    return [o.logits, o.attention, o.features];
  });
  const out = {
    logits: l.dataSync() as Float32Array,
    attention: a.dataSync() as Float32Array,
    features: f.dataSync() as Float32Array,
  };
  tf.dispose([l, a, f]);
  return out;
}

/** `targetBatch` with an asynchronous read-back (works on every backend, webgpu included). */
export async function targetBatchAsync(
  net: AdaDfNet,
  x: tf.Tensor4D,
): Promise<{ logits: Float32Array; attention: Float32Array; features: Float32Array }> {
  const [l, a, f] = tf.tidy(() => {
    const o = targetForward({ params: net.params, training: false, kernels: net.kernels }, net.config, x);
    return [o.logits, o.attention, o.features];
  });
  const [logits, attention, features] = await Promise.all([l, a, f].map((t) => t.data()));
  tf.dispose([l, a, f]);
  return {
    logits: logits as Float32Array,
    attention: attention as Float32Array,
    features: features as Float32Array,
  };
}

/**
 * Eval-mode outputs of the whole network on one batch, what the test pass records: target
 * logits and features, and both attention weights (a plain network's are 1).
 */
export async function evalBatchAsync(
  net: AdaDfNet,
  x: tf.Tensor4D,
): Promise<{ logits: Float32Array; features: Float32Array; wAux: Float32Array; wTar: Float32Array }> {
  const outs = tf.tidy(() => {
    const o = net.apply(x, { training: false });
    return [o.tarLogits, o.tarFeatures, o.wAux, o.wTar];
  });
  const [logits, features, wAux, wTar] = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(outs);
  return { logits, features, wAux, wTar };
}
