#!/usr/bin/env node
/**
 * Reads the import graph of `src/` from the code itself (every `import`, `export … from` and
 * `import("…")`, type-only ones included: a type import still ties two folders together for a
 * reader) and reports what the architecture test guards: file cycles, folder cycles and
 * imports that point up the layers declared in `docs/architecture.md`. Run it directly for the
 * report with the largest files and functions: `node scripts/import-graph.mjs`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The layers, lowest first, as `docs/architecture.md` draws them. Within a layer the folders
 * are listed in dependency order too: a file may import its own folder and any folder listed
 * before its own, never one after it.
 */
export const LAYERS = [
  {
    name: "platform",
    folders: [
      "platform/errors",
      "platform/crypto",
      "platform/validation",
      "platform/pagination",
      "platform/calls",
      "platform/observability",
      "platform/config",
      "platform/clock",
      "platform/cache",
      "platform/tasks",
      "platform/db",
      "platform/server",
    ],
  },
  { name: "catalog", folders: ["catalog"] },
  {
    name: "domains",
    folders: [
      "audit",
      "auth",
      "events",
      "billing",
      "credits",
      "prices",
      "entitlements",
      "features",
      "usage",
      "corrections",
      "metering",
      "webhooks",
      "plans",
      "test-clock",
    ],
  },
  { name: "app", folders: ["app", "."] },
];

/** Every `.ts` file under `root`, tests left out: they may reach anywhere to prove things. */
export function sourceFiles(root) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) files.push(path);
    }
  };
  walk(root);
  return files.sort();
}

/**
 * Static and dynamic imports, read with patterns rather than a parser: TypeScript 7 ships no
 * JavaScript API, and Biome's formatting puts every import statement at the start of a line.
 */
const IMPORT_PATTERNS = [
  /^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms,
  /^import\s+"([^"]+)"/gm,
  /\bimport\(\s*"([^"]+)"\s*\)/g,
];

/** Relative imports of each file, as paths relative to `root` (`platform/db/database.ts`). */
export function readImportGraph(root) {
  const graph = new Map();
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, "utf8");
    const targets = new Set();
    for (const pattern of IMPORT_PATTERNS) {
      for (const [, specifier] of text.matchAll(pattern)) {
        if (!specifier.startsWith(".")) continue;
        const target = resolve(dirname(file), specifier.replace(/\.js$/, ".ts"));
        if (target.startsWith(root + sep)) targets.add(toKey(root, target));
      }
    }
    graph.set(toKey(root, file), targets);
  }
  return graph;
}

/** The folder a file belongs to: `platform/db` for `platform/db/x.ts`, `billing` for `billing/x.ts`. */
export function folderOf(key) {
  const parts = key.split("/");
  if (parts.length === 1) return ".";
  return parts[0] === "platform" && parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Strongly connected components with more than one member (Tarjan), each sorted. */
export function findCycles(graph) {
  let index = 0;
  const indices = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (node) => {
    indices.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), indices.get(next)));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return cycles;
}

/** The graph between folders: an edge wherever some file of one imports a file of the other. */
export function folderGraph(graph) {
  const folders = new Map();
  for (const [from, targets] of graph) {
    const source = folderOf(from);
    if (!folders.has(source)) folders.set(source, new Set());
    for (const to of targets) {
      const target = folderOf(to);
      if (target !== source) folders.get(source).add(target);
    }
  }
  return folders;
}

/** A folder's place in the order of every folder the layers list; undefined when unlisted. */
function rankOf(folder) {
  const order = LAYERS.flatMap((layer) => layer.folders);
  const at = order.indexOf(folder);
  return at < 0 ? undefined : at;
}

/**
 * Imports that break the layering: a file importing a folder listed after its own (above it,
 * or later in its layer's order), and files in folders no layer lists.
 */
export function layerViolations(graph) {
  const violations = [];
  for (const [from, targets] of graph) {
    const source = folderOf(from);
    const sourceRank = rankOf(source);
    if (sourceRank === undefined) {
      violations.push({ from, to: undefined, reason: `folder ${source} belongs to no layer` });
      continue;
    }
    for (const to of targets) {
      const target = folderOf(to);
      if (target === source) continue;
      const targetRank = rankOf(target);
      if (targetRank === undefined || targetRank > sourceRank) {
        violations.push({ from, to, reason: `${source} imports ${target}, which is not below it` });
      }
    }
  }
  return violations;
}

/** Lines per file, largest first. */
export function fileSizes(root) {
  return sourceFiles(root)
    .map((file) => ({
      file: toKey(root, file),
      lines: readFileSync(file, "utf8").split("\n").length,
    }))
    .sort((a, b) => b.lines - a.lines);
}

/** A line that opens a function body: a declaration, an arrow assigned to a name, or a method. */
const FUNCTION_START = [
  /^(\s*)(?:export\s+)?(?:async\s+)?function\*?\s+(\w+)/,
  /^(\s*)(?:export\s+)?(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?(?:<[^>]*>)?\(.*=>\s*\{$/,
  /^(\s*)(\w+)\s*:\s*(?:async\s*)?\(.*=>\s*\{$/,
  /^(\s*)(?:async\s+)?(?:get\s+|set\s+)?(\w+)\s*\(.*\)(?:\s*:\s*[^=]+)?\s*\{$/,
];

/**
 * Lines per named function, largest first. Formatted code closes a body at the indentation
 * that opened it, which is all this needs; multi-line signatures end at that same brace.
 */
export function functionSizes(root) {
  const sizes = [];
  for (const file of sourceFiles(root)) {
    const lines = readFileSync(file, "utf8").split("\n");
    for (const [start, line] of lines.entries()) {
      const match = FUNCTION_START.map((p) => p.exec(line)).find((m) => m !== null);
      if (!match || ["if", "for", "while", "switch", "catch"].includes(match[2])) continue;
      const indent = match[1];
      const end = lines.findIndex((l, i) => i > start && l.startsWith(`${indent}}`));
      if (end > start)
        sizes.push({ file: toKey(root, file), name: match[2], lines: end - start + 1 });
    }
  }
  return sizes.sort((a, b) => b.lines - a.lines);
}

function toKey(root, path) {
  return relative(root, path).split(sep).join("/");
}

function report(root) {
  const graph = readImportGraph(root);
  const folders = folderGraph(graph);
  const fileCycles = findCycles(graph);
  const folderCycles = findCycles(folders);
  const violations = layerViolations(graph);
  const lines = [
    `files: ${graph.size}, folders: ${folders.size}, top-level folders: ${new Set([...folders.keys()].map((f) => f.split("/")[0])).size}`,
    `file cycles: ${fileCycles.length}`,
    ...fileCycles.map((c) => `  ${c.join(" → ")}`),
    `folder cycles: ${folderCycles.length}`,
    ...folderCycles.map((c) => `  ${c.join(" ↔ ")}`),
    `layer violations: ${violations.length}`,
    ...violations.map((v) => `  ${v.from}${v.to ? ` → ${v.to}` : ""}: ${v.reason}`),
    "largest files:",
    ...fileSizes(root)
      .slice(0, 8)
      .map((f) => `  ${f.lines} ${f.file}`),
    "largest functions:",
    ...functionSizes(root)
      .slice(0, 8)
      .map((f) => `  ${f.lines} ${f.file} ${f.name}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  report(resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..", "src")));
}
