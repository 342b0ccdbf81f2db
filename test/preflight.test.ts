import { describe, expect, it } from 'vitest';
import { RtbError } from '../core/errors.js';
import { preflight } from '../run/preflight.js';

const roomy = { openFiles: 20_000, ephemeralPorts: 28_232, availableMemoryBytes: 24 * 2 ** 30 };
const request = { connections: 10_000, extraSockets: 40, builtInServer: true, proxy: false, loopback: true };

describe('preflight', () => {
  it('accepts 10,000 connections with the server in its own process, on this machine\'s limits', () => {
    const plan = preflight(request, roomy);
    expect(plan.localAddresses).toEqual([]);
    expect(plan.checks.join('\n')).toContain('ulimit -n is 20000');
  });

  it('refuses, with the numbers, what the open-file limit cannot hold', () => {
    try {
      preflight({ ...request, proxy: true }, roomy);
      expect.unreachable('should refuse');
    } catch (error) {
      expect(error).toBeInstanceOf(RtbError);
      expect((error as RtbError).code).toBe('RTB_ERR_PREFLIGHT');
      // The proxy holds two sockets per connection: 2 x 10,040 + 200 > 20,000.
      expect((error as Error).message).toContain('delay proxy needs about 20280 file descriptors; ulimit -n is 20000');
    }
    expect(() => preflight({ ...request, connections: 30_000 }, roomy)).toThrow(/generator needs about 30240 file descriptors; ulimit -n is 20000/);
  });

  it('spreads sockets over 127.0.0.x when one source address would run out of ports, and refuses off loopback', () => {
    const fewPorts = { ...roomy, ephemeralPorts: 5000, openFiles: 100_000 };
    const plan = preflight(request, fewPorts);
    expect(plan.localAddresses).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(() => preflight({ ...request, loopback: false }, fewPorts)).toThrow(/need 3 source addresses/);
  });

  it('refuses more connections than free memory can hold', () => {
    expect(() => preflight(request, { ...roomy, availableMemoryBytes: 2 ** 30 })).toThrow(/1\.9 GiB for 10000 connections; 1\.0 GiB free/);
  });
});
