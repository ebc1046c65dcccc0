/**
 * The Barnes-Hut quadtree of a 2-D embedding and t-SNE's repulsive forces through it
 * (van der Maaten 2014, sec. 4.2; scikit-learn's `_barnes_hut_tsne.pyx`): a cell whose width w
 * seen from y_i satisfies w / ||y_i - y_cell|| < theta stands for all its points at their centre
 * of mass. Nodes live in typed-array pools (no per-node objects); the tree is rebuilt every
 * iteration into the same pools.
 */

/** Deeper than this, points that still share a cell stay together in one leaf. */
const MAX_DEPTH = 48;

/** A reusable Barnes-Hut quadtree over n 2-D points. */
export class QuadTree {
  #cap = 0;
  #size = 0;
  // per node: cell centre and half width, centre of mass (sums while building), point count,
  // index of the first of 4 contiguous children (-1 for a leaf), first point of a leaf (-1 if empty)
  #cx = new Float64Array(0);
  #cy = new Float64Array(0);
  #hx = new Float64Array(0);
  #hy = new Float64Array(0);
  #mx = new Float64Array(0);
  #my = new Float64Array(0);
  #count = new Int32Array(0);
  #child = new Int32Array(0);
  #point = new Int32Array(0);
  // per point: the next point in the same leaf (-1 at the end), and the leaf holding it
  #next: Int32Array;
  #leafOf: Int32Array;
  #stack = new Int32Array(4 * MAX_DEPTH + 8);
  #packed = new Float64Array(0);
  #order = new Int32Array(0);

  constructor(n: number) {
    this.#next = new Int32Array(n);
    this.#leafOf = new Int32Array(n);
    this.#grow(Math.max(16, 4 * n));
  }

  /** Number of nodes of the last build. */
  get size(): number {
    return this.#size;
  }

  #grow(cap: number): void {
    const copyF = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const copyI = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.#cx = copyF(this.#cx), this.#cy = copyF(this.#cy), this.#hx = copyF(this.#hx), this.#hy = copyF(this.#hy);
    this.#mx = copyF(this.#mx), this.#my = copyF(this.#my);
    this.#count = copyI(this.#count), this.#child = copyI(this.#child), this.#point = copyI(this.#point);
    this.#cap = cap;
  }

  #newNodes(cx: number, cy: number, hx: number, hy: number, howMany: 1 | 4): number {
    if (this.#size + howMany > this.#cap) this.#grow(2 * this.#cap);
    const first = this.#size;
    for (let q = 0; q < howMany; q++) {
      const id = first + q;
      // children in quadrant order: bit 0 = right half (x >= cx), bit 1 = upper half (y >= cy)
      const gx = howMany === 1 ? hx : hx / 2, gy = howMany === 1 ? hy : hy / 2;
      this.#cx[id] = howMany === 1 ? cx : cx + (q & 1 ? gx : -gx);
      this.#cy[id] = howMany === 1 ? cy : cy + (q & 2 ? gy : -gy);
      this.#hx[id] = gx;
      this.#hy[id] = gy;
      this.#mx[id] = 0;
      this.#my[id] = 0;
      this.#count[id] = 0;
      this.#child[id] = -1;
      this.#point[id] = -1;
    }
    this.#size += howMany;
    return first;
  }

  /** Builds the tree of the first n points of `y` (`[n, 2]`, row-major). */
  build(y: Float64Array, n: number): void {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = y[2 * i], b = y[2 * i + 1];
      if (a < x0) x0 = a;
      if (a > x1) x1 = a;
      if (b < y0) y0 = b;
      if (b > y1) y1 = b;
    }
    this.#size = 0;
    // the root is the bounding box (a rectangle, as scikit-learn's), a little larger so that every
    // point is strictly inside; cells halve both sides, and the opening test uses the longer one
    const hx = (x1 - x0) / 2 * (1 + 1e-6) + 1e-12, hy = (y1 - y0) / 2 * (1 + 1e-6) + 1e-12;
    this.#newNodes((x0 + x1) / 2, (y0 + y1) / 2, hx, hy, 1);
    for (let p = 0; p < n; p++) this.#insert(y, p);
    const count = this.#count, mx = this.#mx, my = this.#my;
    for (let id = 0; id < this.#size; id++) {
      if (count[id] > 0) mx[id] /= count[id], my[id] /= count[id];
    }
  }

  #insert(y: Float64Array, p: number): void {
    const px = y[2 * p], py = y[2 * p + 1];
    let node = 0, depth = 0;
    for (;;) {
      const ch = this.#child[node];
      if (ch >= 0) { // internal: add p and go down to its quadrant
        this.#count[node]++;
        this.#mx[node] += px;
        this.#my[node] += py;
        node = ch + (px >= this.#cx[node] ? 1 : 0) + (py >= this.#cy[node] ? 2 : 0);
        depth++;
        continue;
      }
      const first = this.#point[node];
      if (first < 0) { // empty leaf
        this.#count[node] = 1;
        this.#mx[node] = px;
        this.#my[node] = py;
        this.#point[node] = p;
        this.#next[p] = -1;
        this.#leafOf[p] = node;
        return;
      }
      const fx = y[2 * first], fy = y[2 * first + 1];
      if (depth >= MAX_DEPTH || (fx === px && fy === py)) { // same place (or too deep): share the leaf
        this.#count[node]++;
        this.#mx[node] += px;
        this.#my[node] += py;
        this.#next[p] = first;
        this.#point[node] = p;
        this.#leafOf[p] = node;
        return;
      }
      // split the leaf: its points (all at one place) move to one child, then p goes on down
      const kids = this.#newNodes(this.#cx[node], this.#cy[node], this.#hx[node], this.#hy[node], 4);
      const to = kids + (fx >= this.#cx[node] ? 1 : 0) + (fy >= this.#cy[node] ? 2 : 0);
      this.#child[node] = kids;
      this.#count[to] = this.#count[node];
      this.#mx[to] = this.#mx[node];
      this.#my[to] = this.#my[node];
      this.#point[to] = first;
      this.#point[node] = -1;
      for (let q = first; q >= 0; q = this.#next[q]) this.#leafOf[q] = to;
    }
  }

  /** The points in depth-first order of the tree's leaves. */
  #treeOrder(n: number): Int32Array {
    if (this.#order.length !== n) this.#order = new Int32Array(n);
    const order = this.#order, stack = this.#stack, child = this.#child, point = this.#point, next = this.#next;
    let sp = 0, k = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const node = stack[--sp];
      const ch = child[node];
      if (ch >= 0) {
        for (let c = ch + 3; c >= ch; c--) if (this.#count[c] > 0) stack[sp++] = c;
      } else for (let p = point[node]; p >= 0; p = next[p]) order[k++] = p;
    }
    return order;
  }

  /**
   * Repulsive forces of the built tree: for each point i, into `force` (`[n, 2]`), the
   * unnormalised sum_j w_ij^2 (y_i - y_j) with w_ij = (1 + ||y_i - y_j||^2)^-1; returns
   * Z = sum_{i != j} w_ij. Both are exact when theta = 0.
   */
  repulsion(y: Float64Array, n: number, theta: number, force: Float64Array): number {
    // one interleaved record per node for locality: [com x, com y, squared cell width, count]
    const size = this.#size, child = this.#child;
    if (this.#packed.length < 4 * size) this.#packed = new Float64Array(4 * this.#cap);
    const rec = this.#packed;
    for (let id = 0; id < size; id++) {
      const w = 2 * Math.max(this.#hx[id], this.#hy[id]);
      rec[4 * id] = this.#mx[id], rec[4 * id + 1] = this.#my[id];
      // leaves get -1 in place of the width, so one load tells both
      rec[4 * id + 2] = child[id] >= 0 ? w * w : -1, rec[4 * id + 3] = this.#count[id];
    }
    const leafOf = this.#leafOf, stack = this.#stack, order = this.#treeOrder(n);
    const t2 = theta * theta;
    let z = 0;
    // points in tree (depth-first) order: neighbours in turn walk nearly the same cells, which
    // keeps the branch predictor and the caches warm
    for (let k = 0; k < n; k++) {
      const i = order[k];
      const xi = y[2 * i], yi = y[2 * i + 1], own = leafOf[i];
      let sumW = 0, fx = 0, fy = 0, sp = 0;
      if (child[0] < 0) { // every point at one place: one leaf, no force
        sumW = rec[3] - 1;
      } else stack[sp++] = 0;
      // the stack holds cells to open; their children are summarised, visited as leaves, or pushed
      while (sp > 0) {
        const ch = child[stack[--sp]];
        for (let c = ch; c < ch + 4; c++) {
          let cnt = rec[4 * c + 3];
          if (cnt === 0) continue;
          const dx = xi - rec[4 * c], dy = yi - rec[4 * c + 1];
          const d2 = dx * dx + dy * dy;
          const w2 = rec[4 * c + 2];
          if (w2 >= 0) { // an internal cell
            if (w2 >= t2 * d2) { // too close to summarise: open it later
              stack[sp++] = c;
              continue;
            }
          } else if (c === own) {
            cnt -= 1; // a point does not repel itself
            if (cnt === 0) continue;
          }
          const q = 1 / (1 + d2);
          const cq = cnt * q;
          sumW += cq;
          const cqq = cq * q;
          fx += cqq * dx;
          fy += cqq * dy;
        }
      }
      force[2 * i] = fx;
      force[2 * i + 1] = fy;
      z += sumW;
    }
    return z;
  }
}
