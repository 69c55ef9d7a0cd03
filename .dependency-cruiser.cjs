/**
 * Import boundaries, checked transitively by dependency-cruiser (`npm run lint`).
 * The layers: bin → cli → commands → {ui, server, generation, models-cache}, with common/ (leaf
 * modules such as the typed errors) below them all; server/ uses the core only through
 * generation/index.ts. Only generation/runtime/ may import onnxruntime-node; ui/ must not reach it
 * even through other modules, and generation/remote/ uses none of the local runtime's code.
 *
 * Inside generation/ (../shared/design/layout.md): host (model-host, text-generator, worker,
 * protocol) → {chat, decode} → runtime (ORT only, with runtime/layouts/) → leaves (errors, events,
 * settings, softmax, tokenizer/, model/, onnx-writer/, processors/, training/).
 */
/** The layers above runtime/: what runtime/ and the leaves must never import. */
const ABOVE_RUNTIME =
  '^generation/(host|decode|chat|remote)/|^generation/(model-host|text-generator|index)[.]ts$';
/** The leaf modules of the core. */
const CORE_LEAVES =
  '^generation/(errors|events|settings|softmax)[.]ts$|^generation/(tokenizer|model|onnx-writer|processors|training)/';
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
      name: 'ui-has-no-file-access',
      comment: 'ui/ renders events; file access (sessions, config) is done by commands/.',
      severity: 'error',
      from: { path: '^ui/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?fs(/promises)?$' },
    },
    {
      name: 'ui-does-not-import-commands',
      severity: 'error',
      from: { path: '^ui/' },
      to: { path: '^(cli|commands|bin)/' },
    },
    {
      name: 'common-is-a-leaf',
      comment:
        'common/ holds leaf modules (errors, formatters, progress): they import nothing of the project.',
      severity: 'error',
      from: { path: '^common/' },
      to: { path: '^(bin|cli|commands|ui|server|models-cache|generation)/' },
    },
    {
      name: 'core-leaves-stay-leaves',
      comment:
        'errors, events, settings, softmax, tokenizer/, model/, onnx-writer/, processors/ and training/ never import the runtime or the layers above it.',
      severity: 'error',
      from: { path: CORE_LEAVES },
      to: { path: `^generation/runtime/|${ABOVE_RUNTIME}` },
    },
    {
      name: 'runtime-below-decode-chat-host',
      comment:
        'runtime/ (with runtime/layouts/) runs ONNX Runtime only: it never imports decode/, chat/ or the host.',
      severity: 'error',
      from: { path: '^generation/runtime/' },
      to: { path: ABOVE_RUNTIME },
    },
    {
      name: 'decode-below-chat-host',
      comment: 'decode/ (loops, step model, scheduler) never imports chat/ or the host.',
      severity: 'error',
      from: { path: '^generation/decode/' },
      to: {
        path: '^generation/(host|chat|remote)/|^generation/(model-host|text-generator|index)[.]ts$',
      },
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
