/**
 * The layer DAG over the whole repository (test/architecture/layers.ts): every source file
 * belongs to a layer, and no import — static, type-only, re-export or dynamic, the optional
 * modules the CLI loads included — points where the table does not allow. The checker is
 * shown to catch a deliberately broken import on fake edges (the tree is not touched).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importEdges, type ImportEdge } from './import-scan.ts';
import { FREE_LAYERS, LAYERS, layerOf, ruleTable, violationsOf } from './layers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** Not source: dependencies, build output, generated pictures, results, artifacts. */
const NOT_SOURCE = new Set(['node_modules', 'dist', 'test-artifacts', 'docs']);

/** The top-level entries of the repository that hold source files. */
function sourceRoots(): string[] {
  return readdirSync(root).filter((name) => {
    if (name.startsWith('.') || NOT_SOURCE.has(name)) return false;
    const isDir = statSync(join(root, name)).isDirectory();
    return isDir || /\.(ts|mts|js|mjs)$/.test(name);
  });
}

const edge = (file: string, target: string): ImportEdge => ({
  file,
  spec: `<${target}>`,
  target,
  relative: true,
});

describe('layer DAG (test/architecture/layers.ts)', () => {
  const edges = importEdges(root, sourceRoots());

  it('covers every source file of the repository', () => {
    const files = [...new Set(edges.map((e) => e.file))];
    expect(files.length).toBeGreaterThan(300);
    const outside = files.filter((f) => layerOf(f) === null);
    expect(outside, `files outside every layer:\n${outside.join('\n')}`).toEqual([]);
    for (const layer of [...Object.keys(LAYERS), ...FREE_LAYERS].filter(
      (l) => l !== 'vitest.config.ts',
    ))
      expect(
        files.some((f) => layerOf(f) === layer),
        `no file in layer ${layer}`,
      ).toBe(true);
  });

  it('no import breaks the table', () => {
    const bad = violationsOf(edges);
    expect(bad, `imports against the layer table:\n${bad.join('\n')}`).toEqual([]);
  });

  it("sees the CLI's optional modules (loaded through src/cli/optional-module.ts)", () => {
    const targets = edges
      .filter((e) => e.file === 'src/cli/optional-module.ts')
      .map((e) => e.target);
    expect(targets).toContain('visualizations/inspector/server.ts');
    expect(targets).toContain('visualizations/charts/generate.ts');
    expect(targets).toContain('src/runtime/collectives/mpi/index.ts');
  });

  it('catches a deliberately broken import (fake edges)', () => {
    expect(
      violationsOf([
        edge('src/modules/dense/mlp.ts', 'src/pipeline/train-pipeline.ts'),
        edge('src/trace/event-bus.ts', 'actors/rank-engine.ts'),
        edge('machines/coordinator.ts', 'src/tensors/batch.ts'),
        edge('src/checkpoint/manifest.ts', 'src/cli/train.ts'),
        edge('src/pipeline/train-pipeline.ts', 'src/testing/faults.ts'),
        edge('visualizations/inspector/server.ts', 'src/pipeline/train-pipeline.ts'),
        edge('src/newthing/x.ts', 'src/protocol/index.ts'),
        // allowed: the same edges' legal counterparts
        edge('src/pipeline/train-pipeline.ts', 'src/modules/dense/mlp.ts'),
        edge('actors/rank-engine.ts', 'src/trace/event-bus.ts'),
        edge('src/cli/main.ts', 'visualizations/charts/generate.ts'),
        edge('test/x.test.ts', 'src/cli/main.ts'),
      ]),
    ).toEqual([
      "src/modules/dense/mlp.ts → '<src/pipeline/train-pipeline.ts>' (src/pipeline/train-pipeline.ts): src/modules may not import src/pipeline",
      "src/trace/event-bus.ts → '<actors/rank-engine.ts>' (actors/rank-engine.ts): src/trace may not import actors",
      "machines/coordinator.ts → '<src/tensors/batch.ts>' (src/tensors/batch.ts): machines may not import src/tensors",
      "src/checkpoint/manifest.ts → '<src/cli/train.ts>' (src/cli/train.ts): src/checkpoint may not import src/cli",
      "src/pipeline/train-pipeline.ts → '<src/testing/faults.ts>' (src/testing/faults.ts): src/pipeline may not import src/testing",
      "visualizations/inspector/server.ts → '<src/pipeline/train-pipeline.ts>' (src/pipeline/train-pipeline.ts): visualizations may not import src/pipeline",
      'src/newthing/x.ts: not in any layer (give its folder a place in test/architecture/layers.ts)',
    ]);
  });

  it('the table is acyclic', () => {
    const seen = new Map<string, 'visiting' | 'done'>();
    const visit = (layer: string, path: string[]): void => {
      const state = seen.get(layer);
      if (state === 'done') return;
      expect(state, `cycle: ${[...path, layer].join(' → ')}`).not.toBe('visiting');
      seen.set(layer, 'visiting');
      for (const to of LAYERS[layer] ?? []) if (to in LAYERS) visit(to, [...path, layer]);
      seen.set(layer, 'done');
    };
    for (const layer of Object.keys(LAYERS)) visit(layer, []);
  });

  it('docs/architecture.md shows this rule table', () => {
    // Compared cell by cell: the formatter pads the table's columns.
    const cells = (text: string) => text.replace(/ *\| */g, '|').replace(/-{3,}/g, '---');
    const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
    expect(cells(doc)).toContain(cells(ruleTable()));
  });
});
