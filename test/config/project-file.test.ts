import * as fs from "fs";
import * as path from "path";
import Ajv2020 from "ajv/dist/2020";
import * as yaml from "js-yaml";
import { CONFIG_KEYS } from "../../components/config/validate";
import { ROOT } from "../../tools/stackConfig";

const schemaPath = path.join(ROOT, "..", "shared", "schemas", "pulumi-project.schema.json");
const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config: Record<string, { type: string; items?: { type: string }; default?: unknown; description?: string }>;
};
const stacks = fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f));

function typeOf(v: unknown): string {
    if (Array.isArray(v)) return "array";
    if (v === null) return "null";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    return typeof v;
}

describe("Pulumi.yaml (the CLI validates it before the program runs; nothing here runs the CLI)", () => {
    const haveSchema = fs.existsSync(schemaPath);
    (haveSchema ? test : test.skip)(`validates against the CLI's project schema (${schemaPath})`, () => {
        const ajv = new Ajv2020({ strict: false, allErrors: true });
        const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
        const ok = validate(project);
        expect(validate.errors ?? []).toEqual([]);
        expect(ok).toBe(true);
        // The check can fail: an undeclared field in a config entry is rejected.
        const broken = JSON.parse(JSON.stringify(project));
        broken.config.podCidr.required = true;
        expect(validate(broken)).toBe(false);
    });

    test("declares exactly the keys the program reads, each with type, description and default", () => {
        expect(Object.keys(project.config).sort()).toEqual([...CONFIG_KEYS].sort());
        for (const [k, decl] of Object.entries(project.config)) {
            expect({ k, type: typeof decl.type, description: typeof decl.description, hasDefault: "default" in decl }).toEqual({
                k, type: "string", description: "string", hasDefault: true,
            });
            expect({ k, defaultType: typeOf(decl.default) }).toEqual({ k, defaultType: decl.type });
        }
    });

    test.each(stacks)("%s: every value has the declared type (the CLI stops a preview otherwise)", (file) => {
        const doc = yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> };
        for (const [k, v] of Object.entries(doc.config ?? {})) {
            const key = k.startsWith(`${project.name}:`) ? k.slice(project.name.length + 1) : k;
            const decl = project.config[key];
            expect({ key, declared: decl !== undefined }).toEqual({ key, declared: true });
            if (v && typeof v === "object" && "secure" in v) continue;
            expect({ key, type: typeOf(v) }).toEqual({ key, type: decl.type });
            if (decl.type === "array" && decl.items && Array.isArray(v)) {
                for (const item of v) expect({ key, item: typeOf(item) }).toEqual({ key, item: decl.items.type });
            }
        }
    });
});
