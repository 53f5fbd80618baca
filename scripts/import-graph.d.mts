/** Types of `import-graph.mjs`, for the architecture test. */
export type ImportGraph = Map<string, Set<string>>;
export declare const LAYERS: readonly { name: string; folders: readonly string[] }[];
export declare function sourceFiles(root: string): string[];
export declare function readImportGraph(root: string): ImportGraph;
export declare function folderOf(key: string): string;
export declare function findCycles(graph: ImportGraph): string[][];
export declare function folderGraph(graph: ImportGraph): ImportGraph;
export declare function layerViolations(
  graph: ImportGraph,
): { from: string; to: string | undefined; reason: string }[];
export declare function fileSizes(root: string): { file: string; lines: number }[];
export declare function functionSizes(
  root: string,
): { file: string; name: string; lines: number }[];
