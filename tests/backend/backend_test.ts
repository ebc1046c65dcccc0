/**
 * initBackend(): what it refuses, what `auto` picks here, and the layer forms it hands over
 * (`BackendChoice.layerKernels`), which a net runs only when it is given them.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend, PLAIN_LAYER_KERNELS, WASM_BLAS_LAYER_KERNELS } from "../../lib/backend/backend.ts";
import { BN_TRAIN_KERNEL, DNNL_BN_TRAIN_KERNEL, fusedBatchNorm, nativeKernelsBlas } from "../../lib/kernels/mod.ts";
import { AdaDfNet, BnStatistics } from "../../lib/model/adadf_net.ts";
import type { LayerKernels } from "../../lib/model/layers.ts";

Deno.test("initBackend() rejects an unknown backend and a missing tensorflow package with clear messages", async () => {
  // deno-lint-ignore no-explicit-any
  await assert.rejects(() => initBackend("tpu" as any), /backend must be one of auto, tensorflow, webgpu, wasm, cpu/);
  await assert.rejects(() => initBackend("tensorflow"), /needs @tensorflow\/tfjs-node-gpu or @tensorflow\/tfjs-node/);
});

Deno.test("initBackend('auto') picks wasm here and says why", async () => {
  const choice = await initBackend("auto");
  assert.equal(choice.backend, "wasm");
  assert.match(choice.reason, /tfjs-node/);
  assert.equal(tf.getBackend(), "wasm");
});

/** How many times a training forward pass of a small net runs the fused BatchNorm kernel. */
async function fusedBatchNormRuns(kernels?: LayerKernels): Promise<number> {
  const net = new AdaDfNet({ width: 4 }, { seed: 0, kernels });
  const bn = new BnStatistics();
  const info = await tf.profile(() => {
    tf.tidy(() => {
      net.apply(tf.zeros([2, 32, 32, 3]) as tf.Tensor4D, { training: true, bn });
    });
  });
  bn.dispose();
  net.dispose();
  // the JavaScript kernels, or oneDNN's where it is installed
  return info.kernels.filter((k) => k.name === BN_TRAIN_KERNEL || k.name === DNNL_BN_TRAIN_KERNEL).length;
}

Deno.test("initBackend('wasm') with OpenBLAS hands over the fused BatchNorm; a net runs it only when given the choice's kernels", async () => {
  const choice = await initBackend("wasm");
  const blas = nativeKernelsBlas() !== undefined;
  assert.equal(choice.layerKernels, blas ? WASM_BLAS_LAYER_KERNELS : PLAIN_LAYER_KERNELS);
  if (blas) {
    assert.equal(choice.layerKernels.fusedBatchNorm, fusedBatchNorm);
    assert.ok(await fusedBatchNormRuns(choice.layerKernels) > 0, "the fused kernels ran");
  }
  assert.equal(await fusedBatchNormRuns(undefined), 0, "a net given no kernels runs TF.js's ops");
  const off = await initBackend("wasm", { blas: "off" });
  assert.equal(off.layerKernels, PLAIN_LAYER_KERNELS);
  assert.equal(await fusedBatchNormRuns(off.layerKernels), 0);
  const cpu = await initBackend("cpu");
  assert.equal(cpu.layerKernels, PLAIN_LAYER_KERNELS);
  await initBackend("wasm");
});
