/**
 * The sweep of cost models of P1 and P2: seeded random models plus adversarial ones
 * (dist dominant, copy dominant, compute dominant, splits latency above the forward time,
 * ties, tiny everything). Every model fixes the six stage costs (ms) of the sim device.
 *
 * @example
 * for (const m of costSweep({ random: 40 })) console.log(m.name, m.costs, iterationBoundOf(m));
 */
export interface StageCosts {
  copy: number;
  distSplits: number;
  distData: number;
  fwd: number;
  bwd: number;
  opt: number;
}

export interface CostCase extends StageCosts {
  name: string;
  category:
    | 'random'
    | 'dist dominant'
    | 'copy dominant'
    | 'compute dominant'
    | 'splits > forward'
    | 'ties'
    | 'tiny';
  /** CLI cost string for the sim (`copy=…,distSplits=…,distData=…,fwd=…,bwd=…,opt=…`). */
  costs: string;
}

/** The bound `max(copy, distSplits + distData, fwd + bwd + opt)`. */
export function iterationBoundOf(c: StageCosts): number {
  return Math.max(c.copy, c.distSplits + c.distData, c.fwd + c.bwd + c.opt);
}

/** What the seed's schedule achieves when the host blocks on the splits: `max(copy, splits+data, max(fwd, splits) + bwd + opt)`. */
export function directPortModelOf(c: StageCosts): number {
  return Math.max(c.copy, c.distSplits + c.distData, Math.max(c.fwd, c.distSplits) + c.bwd + c.opt);
}

function round(x: number): number {
  return Number(x.toPrecision(3));
}

function make(name: string, category: CostCase['category'], s: StageCosts): CostCase {
  const r: StageCosts = {
    copy: round(s.copy),
    distSplits: round(s.distSplits),
    distData: round(s.distData),
    fwd: round(s.fwd),
    bwd: round(s.bwd),
    opt: round(s.opt),
  };
  const costs = `copy=${r.copy},distSplits=${r.distSplits},distData=${r.distData},fwd=${r.fwd},bwd=${r.bwd},opt=${r.opt}`;
  return { name, category, costs, ...r };
}

/**
 * mulberry32: a tiny seeded PRNG, uniform in [0, 1).
 *
 * @example
 * const next = mulberry32(7); next(); // the same sequence for the same seed
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function costSweep(o: { random?: number; seed?: number } = {}): CostCase[] {
  const rnd = mulberry32(o.seed ?? 20240611);
  const logU = (lo: number, hi: number) =>
    Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo)));
  const cases: CostCase[] = [];
  const n = o.random ?? 36;
  for (let i = 0; i < n; i++) {
    cases.push(
      make(`random ${i + 1}`, 'random', {
        copy: logU(0.05, 10),
        distSplits: logU(0.05, 10),
        distData: logU(0.05, 10),
        fwd: logU(0.05, 10),
        bwd: logU(0.05, 10),
        opt: logU(0.05, 10),
      }),
    );
  }
  cases.push(
    make('dist ≫ compute', 'dist dominant', {
      copy: 1,
      distSplits: 6,
      distData: 6,
      fwd: 1,
      bwd: 1.5,
      opt: 0.5,
    }),
    make('dist ≫ all (data-heavy)', 'dist dominant', {
      copy: 0.5,
      distSplits: 0.5,
      distData: 20,
      fwd: 2,
      bwd: 2,
      opt: 1,
    }),
    make('dist = 2× compute', 'dist dominant', {
      copy: 2,
      distSplits: 4,
      distData: 4,
      fwd: 1.5,
      bwd: 2,
      opt: 0.5,
    }),
    make('copy ≫ all', 'copy dominant', {
      copy: 20,
      distSplits: 1,
      distData: 1,
      fwd: 2,
      bwd: 3,
      opt: 1,
    }),
    make('copy = 1.5× compute', 'copy dominant', {
      copy: 9,
      distSplits: 2,
      distData: 2,
      fwd: 2,
      bwd: 3,
      opt: 1,
    }),
    make('compute ≫ all', 'compute dominant', {
      copy: 0.5,
      distSplits: 0.5,
      distData: 0.5,
      fwd: 8,
      bwd: 10,
      opt: 2,
    }),
    make('forward-heavy compute', 'compute dominant', {
      copy: 1,
      distSplits: 1,
      distData: 1,
      fwd: 12,
      bwd: 2,
      opt: 0.5,
    }),
    make('optimizer-heavy compute', 'compute dominant', {
      copy: 1,
      distSplits: 1,
      distData: 1,
      fwd: 1,
      bwd: 1,
      opt: 10,
    }),
    make('splits 4× forward', 'splits > forward', {
      copy: 1,
      distSplits: 4,
      distData: 0.2,
      fwd: 1,
      bwd: 3,
      opt: 1,
    }),
    make('splits 2× forward', 'splits > forward', {
      copy: 1,
      distSplits: 3,
      distData: 0.3,
      fwd: 1.5,
      bwd: 3,
      opt: 1,
    }),
    make('splits latency, tiny data', 'splits > forward', {
      copy: 0.5,
      distSplits: 5,
      distData: 0.05,
      fwd: 0.5,
      bwd: 4,
      opt: 1,
    }),
    make('splits 10× forward', 'splits > forward', {
      copy: 0.2,
      distSplits: 2,
      distData: 0.1,
      fwd: 0.2,
      bwd: 1.5,
      opt: 0.5,
    }),
    make('splits = dist bound', 'splits > forward', {
      copy: 1,
      distSplits: 7.8,
      distData: 0.2,
      fwd: 2,
      bwd: 4,
      opt: 2,
    }),
    make('splits 1.5× forward', 'splits > forward', {
      copy: 1,
      distSplits: 3,
      distData: 0.5,
      fwd: 2,
      bwd: 2,
      opt: 1,
    }),
    make('all stages tie', 'ties', { copy: 6, distSplits: 3, distData: 3, fwd: 2, bwd: 3, opt: 1 }),
    make('copy = dist', 'ties', {
      copy: 5,
      distSplits: 2.5,
      distData: 2.5,
      fwd: 1,
      bwd: 1,
      opt: 1,
    }),
    make('tiny everything', 'tiny', {
      copy: 0.01,
      distSplits: 0.01,
      distData: 0.01,
      fwd: 0.01,
      bwd: 0.01,
      opt: 0.01,
    }),
    make('tiny, splits dominant', 'tiny', {
      copy: 0.005,
      distSplits: 0.05,
      distData: 0.005,
      fwd: 0.005,
      bwd: 0.01,
      opt: 0.005,
    }),
  );
  return cases;
}
