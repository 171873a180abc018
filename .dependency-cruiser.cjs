/** Layer rules of ../shared/DESIGN.md: main → commands → io → core, cli → core; no cycles. */
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
