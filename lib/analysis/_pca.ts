/**
 * Leading principal-component scores, for t-SNE's PCA initialisation (scikit-learn >= 1.2's
 * `init="pca"`). Randomised block power iteration on the centred data (Halko et al. 2011,
 * alg. 4.3 with q = 12) with a Rayleigh-Ritz step: no d x d covariance, O(n d b) per pass.
 */
import type { Prng } from "../util/prng.ts";

/** Power iterations; the block has 4 spare columns, so 12 passes settle the leading two well. */
const PASSES = 12;

/**
 * Scores of the `components` leading principal components of `data` (`[n, d]`, row-major):
 * `[n, components]`, column c with variance decreasing in c, each column's sign fixed so that its
 * largest-magnitude entry is positive. Components beyond the data's rank come out as zeros.
 */
export function pcaScores(
  data: Float32Array,
  shape: [n: number, d: number],
  options: { components: number; prng: Prng },
): Float64Array {
  const [n, d] = shape;
  const { components, prng } = options;
  const b = Math.min(d, components + 4);
  const x = new Float64Array(n * d); // [n, d] centred
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c] += data[i * d + c];
  for (let c = 0; c < d; c++) mean[c] /= n;
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) x[i * d + c] = data[i * d + c] - mean[c];

  // the block is kept as b rows of length d, so that every inner loop runs over contiguous memory
  let v: Float64Array = new Float64Array(b * d); // [b, d]
  for (let t = 0; t < v.length; t++) v[t] = prng.normal();
  orthonormaliseRows(v, b, d);
  let u: Float64Array = new Float64Array(n * b); // [n, b]
  for (let pass = 0; pass < PASSES; pass++) {
    u = project(x, v, n, d, b); // X V
    v = backProject(x, u, n, d, b); // (X^T (X V))^T
    orthonormaliseRows(v, b, d);
  }
  u = project(x, v, n, d, b); // [n, b], the data in the found subspace
  // Rayleigh-Ritz: eigenvectors of the b x b matrix U^T U rotate the block onto the components
  const s = new Float64Array(b * b);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < b; p++) for (let q = 0; q < b; q++) s[p * b + q] += u[i * b + p] * u[i * b + q];
  }
  const { values, vectors } = symmetricEigen(s, b);
  const order = Array.from({ length: b }, (_, t) => t).sort((p, q) => values[q] - values[p]);
  const out = new Float64Array(n * components); // [n, components]
  for (let c = 0; c < Math.min(components, b); c++) {
    const e = order[c];
    let big = 0;
    for (let i = 0; i < n; i++) {
      let sc = 0;
      for (let p = 0; p < b; p++) sc += u[i * b + p] * vectors[p * b + e];
      out[i * components + c] = sc;
      if (Math.abs(sc) > Math.abs(big)) big = sc;
    }
    if (big < 0) { for (let i = 0; i < n; i++) out[i * components + c] = -out[i * components + c]; }
  }
  return out;
}

/** X V^T for X [n, d] and the block V [b, d] -> [n, b]. */
function project(x: Float64Array, v: Float64Array, n: number, d: number, b: number): Float64Array {
  const out = new Float64Array(n * b);
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    for (let p = 0; p < b; p++) {
      const vo = p * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += x[xo + c] * v[vo + c];
      out[i * b + p] = s;
    }
  }
  return out;
}

/** U^T X for X [n, d], U [n, b] -> [b, d]. */
function backProject(x: Float64Array, u: Float64Array, n: number, d: number, b: number): Float64Array {
  const out = new Float64Array(b * d);
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    for (let p = 0; p < b; p++) {
      const w = u[i * b + p], oo = p * d;
      for (let c = 0; c < d; c++) out[oo + c] += w * x[xo + c];
    }
  }
  return out;
}

/** Modified Gram-Schmidt on the rows of v [b, d]; a row with no new direction becomes zero. */
function orthonormaliseRows(v: Float64Array, b: number, d: number): void {
  for (let p = 0; p < b; p++) {
    const po = p * d;
    for (let q = 0; q < p; q++) {
      const qo = q * d;
      let dot = 0;
      for (let c = 0; c < d; c++) dot += v[po + c] * v[qo + c];
      for (let c = 0; c < d; c++) v[po + c] -= dot * v[qo + c];
    }
    let norm = 0;
    for (let c = 0; c < d; c++) norm += v[po + c] * v[po + c];
    norm = Math.sqrt(norm);
    const scale = norm > 1e-300 ? 1 / norm : 0;
    for (let c = 0; c < d; c++) v[po + c] *= scale;
  }
}

/** Eigen-decomposition of a small symmetric matrix (cyclic Jacobi rotations); vectors in columns. */
export function symmetricEigen(m: Float64Array, b: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(b * b);
  for (let p = 0; p < b; p++) v[p * b + p] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let p = 0; p < b; p++) {
      diag += a[p * b + p] ** 2;
      for (let q = p + 1; q < b; q++) off += a[p * b + q] ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < b; p++) {
      for (let q = p + 1; q < b; q++) {
        const apq = a[p * b + q];
        if (apq === 0) continue;
        // the rotation that zeroes a[p][q]: tan(2 phi) = 2 a_pq / (a_qq - a_pp)
        const tau = (a[q * b + q] - a[p * b + p]) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t), s = t * c;
        for (let k = 0; k < b; k++) { // columns p, q
          const akp = a[k * b + p], akq = a[k * b + q];
          a[k * b + p] = c * akp - s * akq;
          a[k * b + q] = s * akp + c * akq;
        }
        for (let k = 0; k < b; k++) { // rows p, q
          const apk = a[p * b + k], aqk = a[q * b + k];
          a[p * b + k] = c * apk - s * aqk;
          a[q * b + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < b; k++) {
          const vkp = v[k * b + p], vkq = v[k * b + q];
          v[k * b + p] = c * vkp - s * vkq;
          v[k * b + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(b);
  for (let p = 0; p < b; p++) values[p] = a[p * b + p];
  return { values, vectors: v };
}
