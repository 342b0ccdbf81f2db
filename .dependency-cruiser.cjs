/**
 * The layering rule (docs/architecture.md): each folder imports only the folders below it, and
 * nothing imports in a cycle. test/architecture.test.ts runs this on every `npm test`.
 *
 *   cli.ts, bench/          (top: the command line, the benchmark scripts)
 *   decide/                 rtbench report: the decision report, its tables and charts
 *   scenarios/              burst, ramp, soak, faults, throughput and their report tables
 *   engine/                 runner, recorder, publisher, workers, proxy, sampler
 *   analysis/               thresholds, compare (rank test), metrics of a result
 *   report/                 writers (tables, summary.md, CSV)
 *   targets/                profiles: how to talk to each kind of server
 *   clients/                one client per transport
 *   core/                   clock, marker, histogram, errors, result schema, transports registry
 *   servers/                the reference servers (their own programs), above core only
 */
const layer = (name, may) => ({
  name: `${name}-imports-only-below`,
  comment: `${name}/ may import only ${may.join(', ')}`,
  severity: 'error',
  from: { path: `^${name}/` },
  to: { path: '^(core|clients|targets|engine|report|analysis|scenarios|decide|servers|bench|test|docs)/|^cli\\.ts$', pathNot: `^(${[name, ...may].join('|')})/` },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    layer('core', []),
    layer('clients', ['core']),
    layer('targets', ['core', 'clients']),
    layer('report', ['core']),
    layer('engine', ['core', 'clients', 'targets', 'analysis']),
    layer('analysis', ['core', 'report']),
    layer('scenarios', ['core', 'clients', 'targets', 'engine', 'report', 'analysis']),
    layer('decide', ['core', 'report', 'analysis', 'scenarios']),
    layer('servers', ['core']),
    layer('bench', ['core', 'clients', 'targets', 'engine', 'report', 'analysis', 'scenarios', 'decide', 'servers']),
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
