/**
 * Import boundaries, checked transitively by dependency-cruiser (`npm run lint`).
 * The layers: bin → cli → commands → {ui, server, generation, models-cache}; server/ uses the core
 * only through generation/index.ts. Only generation/runtime/ may import onnxruntime-node; ui/ must not
 * reach it even through other modules, and generation/remote/ uses none of the local runtime's code.
 */
module.exports = {
  forbidden: [
    {
      name: 'ort-only-in-runtime',
      comment: 'onnxruntime-node is imported only by generation/runtime/.',
      severity: 'error',
      from: { pathNot: '^generation/runtime/' },
      to: { path: 'node_modules/onnxruntime-node/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'ui-never-reaches-ort',
      comment: 'ui/ never reaches onnxruntime-node, even transitively.',
      severity: 'error',
      from: { path: '^ui/' },
      to: { path: '(^generation/runtime/|node_modules/onnxruntime-node/)', reachable: true },
    },
    {
      name: 'core-does-not-import-up',
      comment: 'generation/ and models-cache/ never import the layers above them.',
      severity: 'error',
      from: { path: '^(generation|models-cache)/' },
      to: { path: '^(cli|commands|ui|server|bin)/' },
    },
    {
      name: 'no-react-in-core',
      comment: 'The core and the cache stay free of ink/react.',
      severity: 'error',
      from: { path: '^(generation|models-cache|server)/' },
      to: { path: 'node_modules/(ink|react)/' },
    },
    {
      name: 'server-through-core-index',
      comment: 'server/ reaches the core only through generation/index.ts, never into its folders.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^generation/', pathNot: '^generation/index\\.ts$' },
    },
    {
      name: 'server-below-commands',
      comment:
        'server/ sits between commands and the core: it never imports the CLI, ui or the cache.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^(cli|commands|ui|bin|models-cache)/' },
    },
    {
      name: 'remote-engine-without-ort',
      comment:
        'A remote engine (generation/remote/) never loads the local runtime: it may use the types of the model host and the worker client, not their code.',
      severity: 'error',
      from: { path: '^generation/remote/' },
      to: {
        path: '^generation/(runtime/|model-host|text-generator|decode/|processors/)|node_modules/onnxruntime-node/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'common-is-a-leaf',
      comment:
        'common/ (formatters, progress) imports nothing of the project, so every layer may use it.',
      severity: 'error',
      from: { path: '^common/' },
      to: { path: '^(cli|commands|ui|server|bin|generation|models-cache)/' },
    },
    {
      name: 'ui-does-not-import-commands',
      severity: 'error',
      from: { path: '^ui/' },
      to: { path: '^(cli|commands|bin)/' },
    },
    {
      name: 'commands-do-not-import-cli',
      severity: 'error',
      from: { path: '^commands/' },
      to: { path: '^(cli|bin)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|test|bench|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js'],
    },
  },
};
