import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  findCycles,
  folderGraph,
  LAYERS,
  layerViolations,
  readImportGraph,
} from "../scripts/import-graph.mjs";

const SRC = fileURLToPath(new URL("../src", import.meta.url));

/*
 * The layering `docs/architecture.md` draws, read from the code's own imports: platform below
 * the catalog, the catalog below the domains (themselves in dependency order), the composition
 * root on top. A new cycle or an import that points up fails here, with the files named.
 */
describe("the import graph of src/", () => {
  const graph = readImportGraph(SRC);

  it("should have no import cycle between files", () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it("should have no import cycle between folders", () => {
    expect(findCycles(folderGraph(graph))).toEqual([]);
  });

  it("should import only its own folder and folders below it", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it("should keep the catalog a leaf that imports no domain", () => {
    const domains = new Set(LAYERS.find((l) => l.name === "domains")?.folders);
    const catalogImports = [...graph]
      .filter(([file]) => file.startsWith("catalog/"))
      .flatMap(([, targets]) => [...targets]);
    expect(catalogImports.filter((t) => domains.has(t.split("/")[0] ?? ""))).toEqual([]);
  });

  it("should see every folder of src/ in some layer", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(layerViolations(graph).filter((v) => v.to === undefined)).toEqual([]);
  });
});
