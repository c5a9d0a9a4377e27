/**
 * Help texts of the `sparsepipe` command.
 *
 * @example
 * console.log(TRAIN_USAGE);
 */
import { DEFAULT_BATCHES, DEFAULT_HELD_OUT_EXAMPLES } from './train-options.ts';

export const USAGE = `Usage: sparsepipe <command> [options]

Commands:
  train            train a DLRM with a pipelined, sharded actor system (see sparsepipe train --help)
  compare          every pipeline kind on the simulated cluster: iteration time, bound, speed-up (see sparsepipe compare --help)
  simulate         simulate a cluster-size model on a topology in virtual time (docs/simulation.md)
  plan             choose a sharding plan by simulating the best candidates
  bench            how to run the benchmarks
  charts           regenerate the state charts (one SVG per machine) in visualizations/generated
  inspect FILE     open a recorded run in the state-chart inspector

Options:
  --help, -h       this text
  --version        print the version`;

export const TRAIN_USAGE = `Usage: sparsepipe train [options]

Model and data
  --model dlrm                       the model (default dlrm)
  --model-size small|reference       small: 4 tables × 1000 rows × dim 8 (default); reference: 8 × 100k × dim 16 (docs/design.md)
  --data synthetic|FILE.tsv          synthetic click log (default) or a Criteo TSV file (its last rows are
                                     held out for evaluation: see --held-out-examples)
  --table-rows N                     rows of every embedding table (default: the model size's); Criteo ids
                                     are hashed into them
  --embedding-dim D                  dim of every embedding table (default: the model size's)
  --skip-bad-rows                    Criteo: skip and count malformed rows instead of failing
  --seed S                           seed of the model init and the synthetic data (default 1)

Ranks and devices
  --ranks N                          number of ranks (default 4)
  --backend sim|threads|mpi          where ranks run (default sim: all in this process)
  --device sim|wasm|cpu|gpu          sim: virtual time, real math on wasm (default with --backend sim);
                                     wasm|cpu|gpu: tfjs on the wall clock
  --cost copy=MS,dist=MS,fwd=MS,bwd=MS,opt=MS   fixed simulated op durations (--device sim; also fill=MS: cache fills)
  --dense-math auto|blas|wasm        matMuls of the wasm backend: auto (default) uses OpenBLAS when
                                     libopenblas.so.0 loads, else tfjs's own; blas requires it (docs/dense-math.md)
  --blas-threads N                   OpenBLAS threads per rank (default 1; one process-wide setting
                                     shared by the ranks of --backend threads)

Training
  --pipeline none|base|sparse-dist|fused-sparse-dist|semi-sync|prefetch   pipeline (default sparse-dist;
                                     docs/pipelines.md compares them; prefetch: rows of batch i+1 are filled
                                     into cached tables while batch i computes, see --cache-rows)
  --emb-lookup-stream data-dist|new|current   fused-sparse-dist / semi-sync: stream of the look-ahead
                                     lookup (default data-dist, as TorchRec)
  --start-batch N                    semi-sync: first batch trained semi-synchronously (default 0)
  --stash-gradients                  semi-sync: step i applies batch i-1's dense gradients (TorchRec's stash_gradients)
  --eval-only                        with --resume DIR: train nothing, evaluate the checkpoint on the held-out
                                     data through the eval pipeline (heldOutLoss, auc in --json)
  --batches N                        batches in all (default ${DEFAULT_BATCHES}); with --resume, continue until N
  --batch-size B                     GLOBAL batch size, split evenly across ranks (default 256)
  --grad-accum A                     micro-batches per optimizer step (default 1)
  --grad-accum-schedule exact|torchrec-0.3.2   (default exact; torchrec-0.3.2 is the seed's defective one)
  --optimizer sgd|adagrad            dense optimizer and fused sparse optimizer (default adagrad: learns in the default run's 64 batches; sgd barely moves)
  --lr X                             learning rate (default: 0.05 small, 0.002 reference)
  --interpreter xstate|compiled       statechart interpreter of the actors (default xstate, XState's own; compiled:
                                     an opt-in accelerator for large simulations, same states and events)
  --held-out-examples N              held-out examples evaluated after training (default ${DEFAULT_HELD_OUT_EXAMPLES}; 0: none);
                                     a Criteo file holds out its last min(N, rows/10) rows and trains on the rest

Cached embedding tables (docs/cached-embeddings.md; training is unchanged, bit for bit)
  --cache-rows N                     every table in a slow tier behind a row cache of N rows per table block
  --cache-fraction F                 … or of F (0 < F ≤ 1) of each block's rows
  --cache-policy lru|lfu             eviction policy (default lru)
  --cache-dir DIR                    slow tier in files under DIR (read/written by offset) instead of memory

Outputs
  --json FILE                        write the run summary (atomically; nothing on error)
  --report DIR                       write the report (report.txt) and the loss curve (loss.svg) into DIR
  --trace FILE.json                  write a Chrome trace (Perfetto / chrome://tracing)
  --trace-events FILE.json           write every event as a JSON array (replay: sparsepipe inspect FILE)
  --checkpoint-out DIR               write a checkpoint at the end (src/checkpoint/FORMAT.md); the run then
                                     stops as a pause: a partial accumulation window is kept, not flushed
  --resume DIR                       continue from a checkpoint (options must match it)
  --inspect [PORT]                   serve the live state-chart inspector (default: any free port; URL on stderr
                                     as "sparsepipe: inspector at http://127.0.0.1:PORT/"); it keeps serving
                                     after the run (page "finished") until Ctrl-C or SIGTERM, terminal or not,
                                     then the outputs are written. Afterwards: --trace-events FILE, then
                                     sparsepipe inspect FILE
  --inspect-wait                     as --inspect (--backend sim), and the run starts paused until resume or
                                     step is pressed in the page

Test hook
  SPARSEPIPE_FAULT=die:<rank>@<batch>   environment: that rank dies for real just before global batch <batch>
                                     (threads: its worker exits 137; mpi: its process is SIGKILLed; sim: its
                                     process groups fail); the run must end with "rank <rank> failed: …"

Exit codes: 0 ok, 1 the run failed, 2 bad options.`;

export const BENCH_TEXT = `Benchmarks are not run from the CLI: run \`npm run bench\` (bench/run-all.ts prints one table per benchmark).`;
