/**
 * A cluster topology for the simulator: devices per host, memory capacities and bandwidths,
 * the links inside a host and between hosts, and the device's dense throughput. Every
 * bandwidth is stored in **bytes per ms** (the unit TorchRec's planner uses, so its
 * formulas give ms directly); latencies in ms; capacities in bytes. See docs/simulation.md.
 *
 * Presets state where their numbers come from ({@link TOPOLOGY_PRESETS}); a JSON file
 * gives the same fields in friendlier units (GB/s with GB = 10⁹ bytes, µs, GiB, TFLOP/s),
 * read by {@link parseTopologyJson}, which names the file and the field of any bad value.
 *
 * @example
 * const topo = topologyPreset('dgx-a100');
 * topo.interHostBytesPerMs; // 2.5e7 (25 GB/s per rank: one 200 Gb/s HDR NIC per GPU)
 * const custom = parseTopologyJson('{"devicesPerHost": 4, "hbmGBps": 1000}', 'my.json'); // other fields from torchrec-default
 */

/** A topology, in the units the cost model computes with. */
export interface Topology {
  /** Preset name or file the topology came from. */
  readonly name: string;
  /** Where the numbers come from (vendor specifications, TorchRec's constants, …). */
  readonly source: string;
  /** Ranks (devices) per host: TorchRec's `local_world_size`. */
  readonly devicesPerHost: number;
  /** Device memory (HBM) per rank, bytes. */
  readonly hbmCapacityBytes: number;
  /** Host memory (DDR) per rank, bytes. */
  readonly ddrCapacityBytes: number;
  /** HBM bandwidth, bytes/ms. */
  readonly hbmBytesPerMs: number;
  /** DDR bandwidth per rank, bytes/ms. */
  readonly ddrBytesPerMs: number;
  /** HBM↔DDR (PCIe) bandwidth per rank, bytes/ms: host-to-device copies. */
  readonly hbmToDdrBytesPerMs: number;
  /** Intra-host (NVLink-class) bandwidth per rank, bytes/ms. */
  readonly intraHostBytesPerMs: number;
  /** Inter-host (NIC) bandwidth per rank, bytes/ms. */
  readonly interHostBytesPerMs: number;
  /** Latency of one intra-host message step, ms. */
  readonly intraHostLatencyMs: number;
  /** Latency of one inter-host message step, ms. */
  readonly interHostLatencyMs: number;
  /** Latency of a host-to-device copy, ms. */
  readonly copyLatencyMs: number;
  /** Dense math throughput, flops/ms. */
  readonly denseFlopsPerMs: number;
}

/** TorchRec's unit: a "GB" of its constants is 1024³ bytes, per second → per ms. */
const TORCHREC_GB_PER_S = (1024 * 1024 * 1024) / 1000;
/** Vendor unit: GB = 10⁹ bytes, per second → per ms. */
const GB_PER_S = 1e9 / 1000;
const GIB = 1024 * 1024 * 1024;
const TFLOPS = 1e12 / 1000;
const US = 1e-3;

/**
 * Named topologies. Each `source` names its numbers' origin; latencies are not in any
 * datasheet and are stated as assumptions.
 */
export const TOPOLOGY_PRESETS: Readonly<Record<string, Topology>> = {
  'torchrec-default': {
    name: 'torchrec-default',
    source:
      "TorchRec planner defaults (torchrec/distributed/planner/constants.py): HBM 32 GB at 897 GB/s, DDR 128 GB at 51 GB/s, HBM↔DDR 32 GB/s, intra-host 600 GB/s, cross-host 12.5 GB/s per rank, with TorchRec's GB = 1024³ bytes; TorchRec prices no latency (0 here) and no dense math: 15.7 TFLOP/s fp32 is NVIDIA's V100 SXM2 datasheet figure (the GPU whose HBM2 gives 897 GB/s); 8 devices per host.",
    devicesPerHost: 8,
    hbmCapacityBytes: 32 * GIB,
    ddrCapacityBytes: 128 * GIB,
    hbmBytesPerMs: 897 * TORCHREC_GB_PER_S,
    ddrBytesPerMs: 51 * TORCHREC_GB_PER_S,
    hbmToDdrBytesPerMs: 32 * TORCHREC_GB_PER_S,
    intraHostBytesPerMs: 600 * TORCHREC_GB_PER_S,
    interHostBytesPerMs: 12.5 * TORCHREC_GB_PER_S,
    intraHostLatencyMs: 0,
    interHostLatencyMs: 0,
    copyLatencyMs: 0,
    denseFlopsPerMs: 15.7 * TFLOPS,
  },
  'dgx-a100': {
    name: 'dgx-a100',
    source:
      'NVIDIA A100 80GB SXM datasheet (HBM2e 2,039 GB/s, 80 GB, 19.5 TFLOP/s fp32, NVLink 3 600 GB/s per GPU i.e. 300 GB/s each way) and DGX A100 user guide (8 GPUs, eight 200 Gb/s HDR InfiniBand NICs = 25 GB/s per GPU, PCIe 4.0 x16 = 32 GB/s, 2 TB DDR4 on two 8-channel DDR4-3200 EPYC 7742 sockets = 409.6 GB/s, i.e. 256 GiB and 51.2 GB/s per GPU). Latencies (2 µs NVLink, 5 µs InfiniBand, 10 µs copy launch) are assumptions of typical NCCL / CUDA small-message figures, not datasheet values.',
    devicesPerHost: 8,
    hbmCapacityBytes: 80e9,
    ddrCapacityBytes: 256 * GIB,
    hbmBytesPerMs: 2039 * GB_PER_S,
    ddrBytesPerMs: 51.2 * GB_PER_S,
    hbmToDdrBytesPerMs: 32 * GB_PER_S,
    intraHostBytesPerMs: 300 * GB_PER_S,
    interHostBytesPerMs: 25 * GB_PER_S,
    intraHostLatencyMs: 2 * US,
    interHostLatencyMs: 5 * US,
    copyLatencyMs: 10 * US,
    denseFlopsPerMs: 19.5 * TFLOPS,
  },
  'dgx-h100': {
    name: 'dgx-h100',
    source:
      'NVIDIA H100 SXM5 80GB datasheet (HBM3 3.35 TB/s, 80 GB, 67 TFLOP/s fp32, NVLink 4 900 GB/s per GPU i.e. 450 GB/s each way) and DGX H100 user guide (8 GPUs, eight 400 Gb/s ConnectX-7 NICs = 50 GB/s per GPU, PCIe 5.0 x16 = 64 GB/s, 2 TB DDR5 on two 8-channel DDR5-4800 Xeon 8480C sockets = 614.4 GB/s, i.e. 256 GiB and 76.8 GB/s per GPU). Latencies (2 µs NVLink, 5 µs InfiniBand, 10 µs copy launch) are assumptions, as for dgx-a100.',
    devicesPerHost: 8,
    hbmCapacityBytes: 80e9,
    ddrCapacityBytes: 256 * GIB,
    hbmBytesPerMs: 3350 * GB_PER_S,
    ddrBytesPerMs: 76.8 * GB_PER_S,
    hbmToDdrBytesPerMs: 64 * GB_PER_S,
    intraHostBytesPerMs: 450 * GB_PER_S,
    interHostBytesPerMs: 50 * GB_PER_S,
    intraHostLatencyMs: 2 * US,
    interHostLatencyMs: 5 * US,
    copyLatencyMs: 10 * US,
    denseFlopsPerMs: 67 * TFLOPS,
  },
};

/** Preset names, for usage text and errors. */
export const TOPOLOGY_PRESET_NAMES = Object.keys(TOPOLOGY_PRESETS);

/** A topology preset or file is wrong; the message names the file and the field. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

/**
 * A preset by name.
 *
 * @example
 * topologyPreset('torchrec-default').hbmBytesPerMs; // 963146.4 (897 · 1024³ / 1000)
 * topologyPreset('tpu'); // throws TopologyError: unknown topology preset "tpu" (known: …)
 */
export function topologyPreset(name: string): Topology {
  const t = TOPOLOGY_PRESETS[name];
  if (!t)
    throw new TopologyError(
      `unknown topology preset "${name}" (known: ${TOPOLOGY_PRESET_NAMES.join(', ')}; or a FILE.json)`,
    );
  return t;
}

/** The fields of a topology file: name → [unit factor to the stored unit, stored key]. */
const FILE_FIELDS = {
  devicesPerHost: [1, 'devicesPerHost'],
  hbmCapacityGiB: [GIB, 'hbmCapacityBytes'],
  ddrCapacityGiB: [GIB, 'ddrCapacityBytes'],
  hbmGBps: [GB_PER_S, 'hbmBytesPerMs'],
  ddrGBps: [GB_PER_S, 'ddrBytesPerMs'],
  hbmToDdrGBps: [GB_PER_S, 'hbmToDdrBytesPerMs'],
  intraHostGBps: [GB_PER_S, 'intraHostBytesPerMs'],
  interHostGBps: [GB_PER_S, 'interHostBytesPerMs'],
  intraHostLatencyUs: [US, 'intraHostLatencyMs'],
  interHostLatencyUs: [US, 'interHostLatencyMs'],
  copyLatencyUs: [US, 'copyLatencyMs'],
  denseTflops: [TFLOPS, 'denseFlopsPerMs'],
} as const satisfies Record<string, readonly [number, keyof Topology]>;

type FileField = keyof typeof FILE_FIELDS;
const LATENCY_FIELDS: ReadonlySet<string> = new Set([
  'intraHostLatencyUs',
  'interHostLatencyUs',
  'copyLatencyUs',
]);

function isFileField(key: string): key is FileField {
  return Object.hasOwn(FILE_FIELDS, key);
}

/**
 * Read a topology file's text. Fields (all optional; missing ones come from `base`, by
 * default the preset named in `"base"` or `torchrec-default`): `devicesPerHost`,
 * `hbmCapacityGiB`, `ddrCapacityGiB`, `hbmGBps`, `ddrGBps`, `hbmToDdrGBps`,
 * `intraHostGBps`, `interHostGBps` (per rank), `intraHostLatencyUs`, `interHostLatencyUs`,
 * `copyLatencyUs`, `denseTflops`, plus `"base"` (a preset) and `"source"` (text).
 *
 * @example
 * parseTopologyJson('{"base": "dgx-h100", "interHostGBps": 100, "source": "2 NICs per GPU"}', 'h100-2nic.json');
 * parseTopologyJson('{"hbmGBps": -1}', 'bad.json'); // throws TopologyError: bad.json: field "hbmGBps" must be a number > 0, got -1
 */
export function parseTopologyJson(text: string, file: string): Topology {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TopologyError(
      `${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new TopologyError(`${file}: a topology file must hold one JSON object of fields`);
  const fields = raw as Record<string, unknown>;
  const baseName = fields.base ?? 'torchrec-default';
  if (typeof baseName !== 'string' || !TOPOLOGY_PRESETS[baseName])
    throw new TopologyError(
      `${file}: field "base" must name a preset (${TOPOLOGY_PRESET_NAMES.join(', ')}), got ${JSON.stringify(baseName)}`,
    );
  const out: Record<string, number | string> = { ...TOPOLOGY_PRESETS[baseName] };
  out.name = file;
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'base') continue;
    if (key === 'source') {
      if (typeof value !== 'string')
        throw new TopologyError(
          `${file}: field "source" must be text, got ${JSON.stringify(value)}`,
        );
      continue;
    }
    if (!isFileField(key))
      throw new TopologyError(
        `${file}: unknown field "${key}" (known: base, source, ${Object.keys(FILE_FIELDS).join(', ')})`,
      );
    const [factor, stored] = FILE_FIELDS[key];
    const min = LATENCY_FIELDS.has(key) ? 0 : Number.MIN_VALUE;
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= min &&
      (key !== 'devicesPerHost' || Number.isInteger(value));
    if (!ok) {
      const want =
        key === 'devicesPerHost'
          ? 'an integer ≥ 1'
          : LATENCY_FIELDS.has(key)
            ? 'a number ≥ 0'
            : 'a number > 0';
      throw new TopologyError(
        `${file}: field "${key}" must be ${want}, got ${JSON.stringify(value)}`,
      );
    }
    out[stored] = value * factor;
  }
  out.source =
    typeof fields.source === 'string'
      ? fields.source
      : `${file}, other fields from preset ${baseName}`;
  return out as unknown as Topology;
}

/**
 * The topology's layout for a world: hosts × devices per host (`ranksPerHost` overrides the
 * topology's `devicesPerHost`); the world must fill whole hosts.
 *
 * @example
 * hostLayout(topologyPreset('dgx-a100'), 4096); // { worldSize: 4096, ranksPerHost: 8, hosts: 512 }
 */
export function hostLayout(
  topology: Topology,
  worldSize: number,
  ranksPerHost = topology.devicesPerHost,
): HostLayout {
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new TopologyError(`world size must be an integer ≥ 1, got ${worldSize}`);
  if (!Number.isInteger(ranksPerHost) || ranksPerHost < 1)
    throw new TopologyError(`ranks per host must be an integer ≥ 1, got ${ranksPerHost}`);
  const local = Math.min(ranksPerHost, worldSize);
  if (worldSize % local !== 0)
    throw new TopologyError(
      `world size ${worldSize} does not fill whole hosts of ${local} ranks (${worldSize} % ${local} = ${worldSize % local})`,
    );
  return { worldSize, ranksPerHost: local, hosts: worldSize / local };
}

/** Hosts × ranks per host. Rank r lives on host ⌊r / ranksPerHost⌋. */
export interface HostLayout {
  readonly worldSize: number;
  readonly ranksPerHost: number;
  readonly hosts: number;
}
