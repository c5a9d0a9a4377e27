import { describe, expect, it } from 'vitest';
import {
  TOPOLOGY_PRESETS,
  TopologyError,
  hostLayout,
  parseTopologyJson,
  topologyPreset,
} from '../../src/runtime/sim/topology.ts';

describe('topology', () => {
  it("the torchrec-default preset holds TorchRec's planner constants in bytes per ms", () => {
    const t = topologyPreset('torchrec-default');
    const gb = (1024 * 1024 * 1024) / 1000;
    expect(t.hbmBytesPerMs).toBe(897 * gb);
    expect(t.ddrBytesPerMs).toBe(51 * gb);
    expect(t.hbmToDdrBytesPerMs).toBe(32 * gb);
    expect(t.intraHostBytesPerMs).toBe(600 * gb);
    expect(t.interHostBytesPerMs).toBe(12.5 * gb);
    expect(t.hbmCapacityBytes).toBe(32 * 1024 ** 3);
  });

  it('every preset states its source', () => {
    for (const t of Object.values(TOPOLOGY_PRESETS)) expect(t.source.length).toBeGreaterThan(60);
  });

  it('a file overrides fields of a base preset in GB/s, µs, GiB and TFLOP/s', () => {
    const t = parseTopologyJson(
      JSON.stringify({
        base: 'dgx-h100',
        interHostGBps: 100,
        interHostLatencyUs: 3,
        hbmCapacityGiB: 96,
        denseTflops: 60,
        devicesPerHost: 4,
      }),
      'mine.json',
    );
    expect(t.interHostBytesPerMs).toBe(100e6);
    expect(t.interHostLatencyMs).toBeCloseTo(0.003, 15);
    expect(t.hbmCapacityBytes).toBe(96 * 1024 ** 3);
    expect(t.denseFlopsPerMs).toBe(60e9);
    expect(t.devicesPerHost).toBe(4);
    expect(t.hbmBytesPerMs).toBe(topologyPreset('dgx-h100').hbmBytesPerMs);
    expect(t.name).toBe('mine.json');
  });

  it.each([
    ['{"hbmGBps": -1}', 'bad.json: field "hbmGBps" must be a number > 0, got -1'],
    ['{"devicesPerHost": 2.5}', 'bad.json: field "devicesPerHost" must be an integer ≥ 1, got 2.5'],
    [
      '{"interHostLatencyUs": "5"}',
      'bad.json: field "interHostLatencyUs" must be a number ≥ 0, got "5"',
    ],
    ['{"hbmGbps": 1}', 'bad.json: unknown field "hbmGbps"'],
    ['{"base": "tpu"}', 'bad.json: field "base" must name a preset'],
    ['[1]', 'bad.json: a topology file must hold one JSON object of fields'],
    ['{"hbmGBps": 1', 'bad.json: not valid JSON'],
  ])('a bad file %s is refused naming the file and the field', (text, message) => {
    expect(() => parseTopologyJson(text, 'bad.json')).toThrow(TopologyError);
    expect(() => parseTopologyJson(text, 'bad.json')).toThrow(message);
  });

  it('an unknown preset names the known ones', () => {
    expect(() => topologyPreset('tpu')).toThrow(
      'unknown topology preset "tpu" (known: torchrec-default, dgx-a100, dgx-h100',
    );
  });

  it('a world fills whole hosts', () => {
    expect(hostLayout(topologyPreset('dgx-a100'), 4096)).toEqual({
      worldSize: 4096,
      ranksPerHost: 8,
      hosts: 512,
    });
    expect(hostLayout(topologyPreset('dgx-a100'), 4)).toEqual({
      worldSize: 4,
      ranksPerHost: 4,
      hosts: 1,
    });
    expect(() => hostLayout(topologyPreset('dgx-a100'), 12)).toThrow(
      'world size 12 does not fill whole hosts of 8 ranks',
    );
  });
});
