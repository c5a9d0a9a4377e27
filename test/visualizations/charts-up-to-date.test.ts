import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHART_MACHINES,
  GENERATED_DIR,
  renderChart,
} from '../../visualizations/charts/generate.ts';

const REGENERATE =
  'run `npx sparsepipe charts` (or `npx tsx visualizations/charts/generate.ts` until the CLI exists) and commit the result';

describe('committed state charts', () => {
  for (const name of Object.keys(CHART_MACHINES)) {
    it(`visualizations/generated/${name}.svg matches a fresh render of the ${name} machine`, async () => {
      const file = join(GENERATED_DIR, `${name}.svg`);
      expect(existsSync(file), `${file} is missing: ${REGENERATE}`).toBe(true);
      const fresh = await renderChart(name);
      const committed = readFileSync(file, 'utf8');
      expect(committed === fresh, `${file} is out of date with machines/: ${REGENERATE}`).toBe(
        true,
      );
    });
  }
});
