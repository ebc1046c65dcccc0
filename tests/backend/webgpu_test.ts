/**
 * The webgpu backend where an adapter exists (here: Mesa's llvmpipe software adapter):
 * a tiny Ada-DF forward pass and one gradient agree with the cpu backend.
 * Without an adapter the test is skipped, loudly.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { webgpuForTests } from "../kernels/_webgpu.ts";
import { AdaDfNet } from "../../lib/model/adadf_net.ts";

// probed through the toolkit (tests/kernels/_webgpu.ts), not navigator.gpu: no Mesa line in the log
const adapter = await webgpuForTests("webgpu backend test");

async function forwardAndGrad(backend: "cpu" | "webgpu") {
  await initBackend(backend);
  const net = new AdaDfNet({ width: 4 }, { seed: 2 });
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.sin(i * 0.37)), [2, 32, 32, 3]);
  const o = net.apply(x, { training: false });
  const logits = Array.from(await o.tarLogits.data());
  const w = net.params.get("branch_2.layer2.0.conv1.weight")!;
  const { grads, value } = tf.variableGrads(() => tf.sum(net.apply(x, { training: true }).tarLogits) as tf.Scalar, [w]);
  const grad = Array.from(await grads[w.name].data());
  tf.dispose([x, value, ...Object.values(o), ...Object.values(grads)]);
  net.dispose();
  return { logits, grad };
}

Deno.test({
  name: "webgpu: a tiny Ada-DF forward pass and a convolution gradient match the cpu backend",
  ignore: !adapter,
  fn: async () => {
    const choice = await initBackend("webgpu");
    assert.match(choice.reason, /adapter: /);
    const gpuOut = await forwardAndGrad("webgpu");
    const cpuOut = await forwardAndGrad("cpu");
    const err = (a: number[], b: number[]) =>
      Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / Math.max(1e-6, ...b.map(Math.abs));
    assert.ok(err(gpuOut.logits, cpuOut.logits) < 1e-3, `logits differ: ${err(gpuOut.logits, cpuOut.logits)}`);
    assert.ok(err(gpuOut.grad, cpuOut.grad) < 1e-3, `gradients differ: ${err(gpuOut.grad, cpuOut.grad)}`);
  },
});
