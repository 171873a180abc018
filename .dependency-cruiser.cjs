/**
 * The layers and feature folders of ARCHITECTURE.md: main → commands → io → core, cli → core; no
 * cycles. Inside core/ and io/ (and under a subcommand's folder) each folder is one feature, which
 * the rest of the tree enters through its index.ts. The rules are path patterns, so a new file or
 * a new feature folder is held to them without a change here.
 */

/** A file of a feature folder: src/core/X/f.ts, src/io/X/f.ts, src/commands/run/X/.../f.ts. */
const FEATURE_FILE = "^src/(core|io)/[^/]+/[^/]+$|^src/commands/[^/]+/.+/[^/]+$";

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "An import cycle hides which module owns what; break it with a type in the lower layer.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-is-pure",
      comment: "core/ holds pure logic: it imports nothing from cli/, io/ or commands/.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { path: "^src/(cli|io|commands)/|^src/main\\.ts$" },
    },
    {
      name: "core-no-node-runtime",
      comment:
        "core/ may use Node only for types, and node:path (string logic); anything that touches the outside belongs in io/.",
      severity: "error",
      from: { path: "^src/core/", pathNot: "\\.test\\.ts$" },
      to: { dependencyTypes: ["core"], dependencyTypesNot: ["type-only"], pathNot: "^(node:)?path$" },
    },
    {
      name: "io-below-commands-and-cli",
      comment: "io/ touches the outside for commands; it never reaches up into cli/ or commands/.",
      severity: "error",
      from: { path: "^src/io/" },
      to: { path: "^src/(cli|commands)/|^src/main\\.ts$" },
    },
    {
      name: "cli-only-on-core",
      comment: "cli/ turns argv, env and config into options; it uses core/ types and nothing that acts.",
      severity: "error",
      from: { path: "^src/cli/" },
      to: { path: "^src/(io|commands)/|^src/main\\.ts$" },
    },
    {
      name: "features-through-index",
      comment:
        "A feature folder is entered through its index.ts: from outside the folder, import the index (which names what the folder offers), never the files behind it. Files of one folder import each other directly.",
      severity: "error",
      from: { path: "^(src/|src/.*/)[^/]+$", pathNot: "\\.test-support\\.ts$" },
      to: { path: FEATURE_FILE, pathNot: "^$1[^/]+$|/index\\.ts$|\\.test-support\\.ts$" },
    },
    {
      name: "commands-not-sideways",
      comment: "A subcommand does not reach into another subcommand's folder; shared logic lives lower.",
      severity: "error",
      from: { path: "^src/commands/([^/]+)/" },
      to: { path: "^src/commands/", pathNot: "^src/commands/$1/" },
    },
    {
      name: "commands-are-leaves",
      comment: "A one-file subcommand imports no other subcommand; what two share lives lower.",
      severity: "error",
      from: { path: "^src/commands/[^/]+\\.ts$" },
      to: { path: "^src/commands/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.test\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
