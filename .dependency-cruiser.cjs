/**
 * The layering rule (docs/architecture.md): each folder imports only the folders below it, and
 * nothing imports in a cycle. test/architecture.test.ts runs this on every `npm test`.
 *
 *   cli.ts, commands/, bench/  (top: the command line and its commands, the benchmark scripts)
 *   decide/                 rtbench report: the decision report, its tables and charts
 *   scenarios/              burst, ramp, soak, faults, throughput and their tables
 *   run/                    one transport run: runner, options, servers and proxies it starts, sampler
 *   agents/                 the coordinator's side of --agents and `rtbench agent` itself
 *   load/                   the load: publisher, recorder, subscriber pool and its worker threads
 *   analysis/               thresholds, compare (rank test), metrics of a result
 *   output/                 writers (tables, summary.md, CSV)
 *   targets/                profiles: how to talk to each kind of server
 *   clients/                one client per transport
 *   core/                   clock, marker, histogram, errors, result schema, transports registry
 *   servers/                the reference servers (their own programs), above core only
 */
/** Every folder the rules know: an import into any of them that a layer may not make is refused. */
const FOLDERS = ['core', 'clients', 'targets', 'load', 'agents', 'run', 'output', 'analysis', 'scenarios', 'decide', 'servers', 'commands', 'bench', 'test', 'docs'];

const layer = (name, may) => ({
  name: `${name}-imports-only-below`,
  comment: `${name}/ may import only ${may.join(', ')}`,
  severity: 'error',
  from: { path: `^${name}/` },
  to: { path: `^(${FOLDERS.join('|')})/|^cli\\.ts$`, pathNot: `^(${[name, ...may].join('|')})/` },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    layer('core', []),
    layer('clients', ['core']),
    layer('targets', ['core', 'clients']),
    layer('output', ['core']),
    layer('load', ['core', 'clients', 'targets']),
    layer('agents', ['core', 'clients', 'targets', 'load']),
    layer('run', ['core', 'clients', 'targets', 'analysis', 'load', 'agents']),
    layer('analysis', ['core', 'output']),
    layer('scenarios', ['core', 'clients', 'targets', 'load', 'agents', 'run', 'output', 'analysis']),
    layer('decide', ['core', 'output', 'analysis', 'scenarios']),
    layer('servers', ['core']),
    layer('commands', ['core', 'clients', 'targets', 'load', 'agents', 'run', 'output', 'analysis', 'scenarios', 'decide']),
    layer('bench', ['core', 'clients', 'targets', 'load', 'agents', 'run', 'output', 'analysis', 'scenarios', 'decide', 'servers']),
    {
      name: 'no-test-code-in-the-product',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|reports|results|\\.stryker-tmp)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count too: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
