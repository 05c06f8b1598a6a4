import { describe, expect, it } from 'vitest';
import { formatClock, formatElapsed, parseMemoryMB, parseRuntimeSeconds, slurmMemory, slurmTime } from './quantities';

describe('parseMemoryMB', () => {
  it.each([
    ['48G', 48000],
    ['48GB', 48000],
    ['48GiB', 51540],
    ['512M', 512],
    ['1.5T', 1500000],
    ['600G', 600000],
  ])('%s -> %d MB', (text, mb) => expect(parseMemoryMB(text)).toEqual({ value: mb }));

  it('refuses a bare number and says which unit to add', () => {
    const r = parseMemoryMB('80000');
    expect(r).toMatchObject({ error: expect.stringContaining('no unit') });
    expect('fix' in r && r.fix).toContain('80000M');
    expect(parseMemoryMB(512)).toMatchObject({ error: expect.stringContaining('no unit') });
  });

  it('refuses nonsense', () => expect(parseMemoryMB('lots')).toMatchObject({ error: expect.stringContaining('not a size') }));
});

describe('parseRuntimeSeconds', () => {
  it.each([
    ['10m', 600],
    ['7h', 25200],
    ['2d', 172800],
    ['1h30m', 5400],
    ['45s', 45],
    ['1-12:00:00', 129600],
    ['90:00', 5400],
    ['1:30:00', 5400],
    ['2-06', 194400],
  ])('%s -> %d s', (text, s) => expect(parseRuntimeSeconds(text)).toEqual({ value: s }));

  it('refuses a bare number (socm: seconds, SLURM: minutes)', () => {
    expect(parseRuntimeSeconds('80000')).toMatchObject({ error: expect.stringContaining('no unit') });
    expect(parseRuntimeSeconds(90)).toMatchObject({ error: expect.stringContaining('no unit') });
  });

  it.each(['10x', '1:75:00', '', '0m'])('refuses %j', (text) => expect(parseRuntimeSeconds(text)).toHaveProperty('error'));
});

describe('bounds', () => {
  it.each(['0G', '0M', '1001T', `${'9'.repeat(400)}G`])('refuses memory %s', (text) => expect(parseMemoryMB(text)).toMatchObject({ error: expect.any(String) }));
  it.each(['0.4s', '0s', '400d', `${'9'.repeat(400)}s`])('refuses runtime %s', (text) => expect(parseRuntimeSeconds(text)).toMatchObject({ error: expect.any(String) }));
  it('keeps what real jobs ask', () => {
    expect(parseMemoryMB('1T')).toEqual({ value: 1_000_000 });
    expect(parseRuntimeSeconds('1s')).toEqual({ value: 1 });
    expect(parseRuntimeSeconds('30d')).toEqual({ value: 30 * 86400 });
  });
});

describe('formats', () => {
  it('formatClock: H:MM:SS, and D-HH:MM:SS from a day on (as SLURM)', () => {
    expect(formatClock(0)).toBe('0:00:00');
    expect(formatClock(1380)).toBe('0:23:00');
    expect(formatClock(3600 * 25 + 61)).toBe('1-01:01:01');
  });

  it('formatElapsed: tenths below a minute', () => {
    expect(formatElapsed(2.345)).toBe('2.3s');
    expect(formatElapsed(90)).toBe('1m30s');
  });

  it("SLURM's forms: --time rounds up to the second, --mem to the MB", () => {
    expect(slurmTime(89.2)).toBe('0-00:01:30');
    expect(slurmMemory(59.1)).toBe('60M');
  });
});
