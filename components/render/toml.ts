// Minimal TOML string quoting for the few values the containerd files carry (image names, URLs).

// eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A TOML basic string: "..." with backslash and double quote escaped; control characters refused. */
export function tomlBasic(value: string): string {
    if (CONTROL.test(value)) throw new Error(`TOML value ${JSON.stringify(value)} contains a control character`);
    return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A TOML literal string: '...' (containerd 2.x style); falls back to a basic string when the value holds a quote. */
export function tomlLiteral(value: string): string {
    if (value.includes("'") || CONTROL.test(value)) return tomlBasic(value);
    return `'${value}'`;
}
