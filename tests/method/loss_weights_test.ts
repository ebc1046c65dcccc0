import assert from "node:assert/strict";
import { lossWeights } from "../../lib/method/loss_weights.ts";
import { assertClose } from "./_helpers.ts";

Deno.test("lossWeights() ramps the KL weight up to 1 until epoch beta (eq. 15)", () => {
  // a2 = exp(-(1 - e/3)^2): e = 1 -> exp(-4/9) = 0.6411804, e = 2 -> exp(-1/9) = 0.8948393, e = 3 -> 1
  assert.deepEqual(lossWeights(1, 3).a1, 1);
  assertClose(lossWeights(1, 3).a2, 0.6411803884299546, 1e-12);
  assertClose(lossWeights(2, 3).a2, 0.8948393168143698, 1e-12);
  assert.deepEqual(lossWeights(3, 3), { a1: 1, a2: 1 });
});

Deno.test("lossWeights() ramps the CE weight down after epoch beta (eq. 16)", () => {
  // a1 = exp(-(1 - 3/e)^2): e = 4 -> exp(-1/16) = 0.9394131, e = 5 -> exp(-0.16) = 0.8521438
  assertClose(lossWeights(4, 3).a1, 0.9394130628134758, 1e-12);
  assertClose(lossWeights(5, 3).a1, 0.8521437889662113, 1e-12);
  assert.equal(lossWeights(5, 3).a2, 1);
  assert.ok(lossWeights(75, 3).a1 > Math.exp(-1) && lossWeights(75, 3).a1 < lossWeights(5, 3).a1);
});

Deno.test("lossWeights() accepts a non-integer beta", () => {
  assertClose(lossWeights(1, 2.5).a2, Math.exp(-((1 - 1 / 2.5) ** 2)), 1e-15);
});

Deno.test("lossWeights() rejects epochs that are not integers >= 1 and beta <= 0", () => {
  for (const epoch of [0, -1, 1.5, NaN]) {
    assert.throws(() => lossWeights(epoch, 3), { name: "RangeError", message: /epoch must be an integer >= 1/ });
  }
  for (const beta of [0, -3, Infinity, NaN]) {
    assert.throws(() => lossWeights(1, beta), { name: "RangeError", message: /beta must be a finite number > 0/ });
  }
});
