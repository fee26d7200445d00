// Shared by the render tests: parse the multi-document YAML the kubeadm renderers produce.
import * as yaml from "js-yaml";

/** Every YAML document in a string, parsed (throws on invalid YAML). */
export function parseDocs(text: string): Record<string, unknown>[] {
    return yaml.loadAll(text) as Record<string, unknown>[];
}

/** The single document of a given kind (loosely typed: tests index into it freely). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function docOfKind(text: string, kind: string): Record<string, any> {
    const found = parseDocs(text).filter((d) => d && d.kind === kind);
    if (found.length !== 1) throw new Error(`expected one ${kind} document, found ${found.length}`);
    return found[0] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** TOML-ish reader for the containerd files: section header -> key -> raw value. */
export function tomlSections(text: string): Map<string, Map<string, string>> {
    const sections = new Map<string, Map<string, string>>();
    let current = "";
    sections.set(current, new Map());
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) continue;
        const header = /^\[(.+)\]$/.exec(line);
        if (header) {
            current = header[1];
            if (sections.has(current)) throw new Error(`duplicate TOML table [${current}]`);
            sections.set(current, new Map());
            continue;
        }
        const kv = /^([A-Za-z0-9_.-]+)\s*=\s*(.+)$/.exec(line);
        if (!kv) throw new Error(`unparsed TOML line: ${line}`);
        sections.get(current)!.set(kv[1], kv[2]);
    }
    return sections;
}
