/**
 * Dense model parts on tfjs: `Linear` / `MLP`, DLRM's `DotInteraction`, `bceWithLogits`,
 * seeded init, and the explicit-transpose `BatchMatMul` gradient that makes them fast on wasm.
 *
 * @example
 * import { MLP, DotInteraction, installFastBatchMatMulGrad } from './modules/dense/index.ts';
 */
export * from './batch-matmul-grad.ts';
export * from './init.ts';
export * from './interaction.ts';
export * from './loss.ts';
export * from './mlp.ts';
