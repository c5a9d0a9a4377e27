/**
 * Time of one collective on a {@link Topology}, hierarchical: the intra-host part on the
 * intra-host links (per-rank bandwidth `intra`, per-step latency `αi`), then the inter-host
 * part on each rank's NIC (`inter`, `αo`). L = ranks per host, H = hosts. Ring algorithms;
 * docs/simulation.md derives each line.
 *
 * - all-to-all, one rank sending `si` bytes to peers on its host and `so` bytes off it and
 *   receiving `ri` / `ro`: `[αi + max(si, ri)/intra] + [αo + max(so, ro)/inter]`, each
 *   bracket only when its bytes are > 0. The collective ends when its slowest rank does:
 *   the simulator charges the maximum over ranks.
 * - reduce-scatter of `N` bytes per rank over L ranks × H hosts:
 *   `(L−1)·(αi + N/(L·intra)) + (H−1)·(αo + N/(L·H·inter))` — a ring inside each host
 *   leaves each rank N/L bytes, then a ring across hosts among the ranks with the same
 *   local index leaves N/(L·H).
 * - all-gather: the same as reduce-scatter (the reverse ring).
 * - all-reduce of `N` bytes: reduce-scatter then all-gather, `2 ×` the above.
 *
 * @example
 * const t = topologyPreset('torchrec-default');
 * allReduceMs(t, { worldSize: 16, ranksPerHost: 8, hosts: 2 }, 4e6);
 * // 2·[7·(4e6/8)/intra + 1·(4e6/16)/inter]  (no latency in this preset)
 */
import type { HostLayout, Topology } from './topology.ts';

/** Bytes one rank moves in an all-to-all, split by where the peer is. */
export interface AllToAllBytes {
  sendIntra: number;
  sendInter: number;
  recvIntra: number;
  recvInter: number;
}

/**
 * One rank's all-to-all time.
 *
 * @example
 * allToAllMs(topo, { sendIntra: 7e6, sendInter: 0, recvIntra: 7e6, recvInter: 0 }); // αi + 7e6 / intra
 */
export function allToAllMs(topology: Topology, b: AllToAllBytes): number {
  const intra = Math.max(b.sendIntra, b.recvIntra);
  const inter = Math.max(b.sendInter, b.recvInter);
  let ms = 0;
  if (intra > 0) ms += topology.intraHostLatencyMs + intra / topology.intraHostBytesPerMs;
  if (inter > 0) ms += topology.interHostLatencyMs + inter / topology.interHostBytesPerMs;
  return ms;
}

/**
 * Hierarchical ring reduce-scatter of `bytes` per rank (see the module doc).
 *
 * @example
 * reduceScatterMs(topo, { worldSize: 8, ranksPerHost: 8, hosts: 1 }, 8e6); // 7·(αi + 1e6/intra)
 */
export function reduceScatterMs(topology: Topology, layout: HostLayout, bytes: number): number {
  if (bytes <= 0) return 0;
  const L = layout.ranksPerHost;
  const H = layout.hosts;
  const intra =
    L > 1
      ? (L - 1) * (topology.intraHostLatencyMs + bytes / (L * topology.intraHostBytesPerMs))
      : 0;
  const inter =
    H > 1
      ? (H - 1) * (topology.interHostLatencyMs + bytes / (L * H * topology.interHostBytesPerMs))
      : 0;
  return intra + inter;
}

/**
 * Hierarchical all-reduce: reduce-scatter then all-gather.
 *
 * @example
 * allReduceMs(topo, layout, 4e6) === 2 * reduceScatterMs(topo, layout, 4e6); // true
 */
export function allReduceMs(topology: Topology, layout: HostLayout, bytes: number): number {
  return 2 * reduceScatterMs(topology, layout, bytes);
}

/**
 * A host-to-device copy of `bytes` over the HBM↔DDR (PCIe) link.
 *
 * @example
 * copyMs(topologyPreset('dgx-a100'), 32e6); // 0.01 + 1 = 1.01
 */
export function copyMs(topology: Topology, bytes: number): number {
  return topology.copyLatencyMs + bytes / topology.hbmToDdrBytesPerMs;
}

/**
 * Dense math of `flops` at the device's throughput.
 *
 * @example
 * denseMs(topologyPreset('dgx-a100'), 19.5e9); // 1
 */
export function denseMs(topology: Topology, flops: number): number {
  return flops / topology.denseFlopsPerMs;
}
