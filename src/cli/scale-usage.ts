/**
 * Help texts of `sparsepipe simulate` and `sparsepipe plan` (docs/simulation.md).
 *
 * @example
 * console.log(SIMULATE_USAGE);
 */
import { SCALE_MODEL_NAMES } from '../modules/scale/model-spec.ts';
import { PLAN_STRATEGIES } from '../modules/scale/plan-candidates.ts';
import { TOPOLOGY_PRESET_NAMES } from '../runtime/sim/topology.ts';

const COMMON = `World and topology
  --ranks N                          ranks in the world (default 64)
  --ranks-per-host N                 ranks per host (default: the topology's devices per host)
  --topology PRESET|FILE.json        ${TOPOLOGY_PRESET_NAMES.join(', ')} (default torchrec-default), or a
                                     JSON file of fields (docs/simulation.md: "Topology files")
Model and pipeline
  --model-size ${SCALE_MODEL_NAMES.join('|')}|FILE.json   shapes-only DLRM (default medium)
  --pipeline KIND                    any pipeline kind sparsepipe has: none, base, sparse-dist (default),
                                     fused-sparse-dist, semi-sync, eval, … (an unknown kind lists them)
  --batches N                        batches per rank (default 20; ≥ 6)
  --cost copy=MS,dist=MS,fwd=MS,…    fixed stage times that win over the priced ones
  --interpreter compiled|xstate      the actors' interpreter (default compiled: large worlds need it)
Output
  --json FILE                        write the JSON summary to FILE`;

export const SIMULATE_USAGE = `Usage: sparsepipe simulate [options]

Simulate a shapes-only DLRM on a cluster in virtual time (no rows are allocated) and print
{ iterationMs, examplesPerSecond, boundBy, memoryPerRankBytes, stages, … }.

  --plan ${PLAN_STRATEGIES.join('|')}|auto|FILE.json
                                     the sharding plan (default auto: the best analytic estimate)
${COMMON}`;

export const PLAN_USAGE = `Usage: sparsepipe plan [options]

Propose sharding plans (TW, RW, CW, TWRW within HBM), rank them by TorchRec's analytic
estimate, simulate the best few with the pipeline kind, report winner, runner-up and why,
and list the winner's shards { table, sharding, ranks, fwdCompute, fwdComms, bwdCompute, bwdComms } (ms).

  --simulate-top K                   simulate the K best analytic plans (default 3)
${COMMON}`;
