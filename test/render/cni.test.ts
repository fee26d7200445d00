import * as fs from "fs";
import * as path from "path";
import Ajv, { AnySchema, ValidateFunction } from "ajv";
import {
    calicoInstallation,
    calicoManifestUrls,
    DEFAULT_CALICO_SOURCE,
    DEFAULT_CALICO_VERSION,
    DEFAULT_FLANNEL_CHART_REPO,
    DEFAULT_FLANNEL_VERSION,
    flannelChartValues,
} from "../../components/render";
import { CniSpec } from "../../components/config/spec";
import { makeSpec } from "../fixtures/spec";

const SCHEMA_DIR = path.join(__dirname, "../../../shared/schemas");
const SCHEMA_PATH = path.join(SCHEMA_DIR, "calico-installation-v3.31.schema.json");
const haveSchemas = fs.existsSync(SCHEMA_DIR);

const calico = (cni: Partial<CniSpec> = {}) => makeSpec({ cni: { ...makeSpec().cni, ...cni } });
const flannel = (cni: Partial<CniSpec> = {}) =>
    makeSpec({ cni: { plugin: "flannel", version: DEFAULT_FLANNEL_VERSION, source: DEFAULT_FLANNEL_CHART_REPO, ...cni } });

describe("constants", () => {
    test("defaults", () => {
        expect(DEFAULT_CALICO_VERSION).toBe("v3.31.7");
        expect(DEFAULT_CALICO_SOURCE).toBe("https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests");
        expect(DEFAULT_FLANNEL_CHART_REPO).toBe("https://flannel-io.github.io/flannel/");
        expect(DEFAULT_FLANNEL_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    });
});

describe("calicoManifestUrls", () => {
    test("CRDs first, then the operator, version substituted", () => {
        expect(calicoManifestUrls(makeSpec())).toEqual([
            "https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/operator-crds.yaml",
            "https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/tigera-operator.yaml",
        ]);
    });

    test("a mirror source with a trailing slash", () => {
        expect(calicoManifestUrls(calico({ source: "https://files.lan/calico/{version}/", version: "v3.30.2" }))).toEqual([
            "https://files.lan/calico/v3.30.2/operator-crds.yaml",
            "https://files.lan/calico/v3.30.2/tigera-operator.yaml",
        ]);
    });
});

describe("calicoInstallation", () => {
    test("snapshot", () => expect(calicoInstallation(makeSpec())).toMatchSnapshot());

    test("one VXLANCrossSubnet pool over the pod CIDR, Calico CNI, no registry by default", () => {
        const inst = calicoInstallation(makeSpec({ podCidr: "172.20.0.0/16" }));
        expect(inst.metadata).toEqual({ name: "default" });
        expect(inst.spec.calicoNetwork.ipPools).toEqual([
            {
                name: "default-ipv4-ippool",
                cidr: "172.20.0.0/16",
                encapsulation: "VXLANCrossSubnet",
                natOutgoing: "Enabled",
                blockSize: 26,
                nodeSelector: "all()",
            },
        ]);
        expect(inst.spec.cni).toEqual({ type: "Calico" });
        expect(inst.spec).not.toHaveProperty("registry");
    });

    test.each(["harbor.lan", "harbor.lan/", "harbor.lan//"])("registry %s is normalised to end in one slash", (registry) => {
        expect(calicoInstallation(calico({ registry })).spec.registry).toBe("harbor.lan/");
    });
});

/**
 * Ajv for Kubernetes CRD schemas: unknown keywords and formats still fail compilation, but the CRD's
 * own formats and x-kubernetes-* keywords are declared, and int-or-string schemas (a pattern without
 * a type) are allowed.
 */
function crdAjv(): Ajv {
    const ajv = new Ajv({ allErrors: true, strictSchema: true, strictTypes: false });
    ajv.addVocabulary(["apiVersion", "x-kubernetes-int-or-string", "x-kubernetes-list-map-keys", "x-kubernetes-list-type", "x-kubernetes-map-type"]);
    const int = (bits: number) => (n: number) => Number.isInteger(n) && n >= -(2 ** (bits - 1)) && n < 2 ** (bits - 1);
    ajv.addFormat("int32", { type: "number", validate: int(32) });
    ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat("byte", /^[A-Za-z0-9+/]*={0,2}$/);
    ajv.addFormat("date-time", { type: "string", validate: (s: string) => !Number.isNaN(Date.parse(s)) });
    return ajv;
}

/**
 * The same schema with unknown fields refused. The API server prunes fields a CRD does not declare
 * without an error, so a misspelt field would silently do nothing; this catches it here.
 */
function closed(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map(closed);
    if (schema === null || typeof schema !== "object") return schema;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(schema)) out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, closed(pv)])) : closed(v);
    if ("properties" in out && !("additionalProperties" in out)) out.additionalProperties = false;
    return out;
}

(haveSchemas ? describe : describe.skip)("Installation against the Calico v3.31 CRD schema", () => {
    let validate: ValidateFunction;
    let validateClosed: ValidateFunction;
    beforeAll(() => {
        const schema = JSON.parse(fs.readFileSync(SCHEMA_PATH, "utf8")) as AnySchema;
        validate = crdAjv().compile(schema);
        validateClosed = crdAjv().compile(closed(schema) as AnySchema);
    });

    test("the rendered Installation validates (with and without a registry)", () => {
        for (const spec of [makeSpec(), calico({ registry: "harbor.lan" })]) {
            const ok = validate(calicoInstallation(spec));
            expect(validate.errors ?? []).toEqual([]);
            expect(ok).toBe(true);
        }
    });

    test("the rendered Installation declares no field the CRD lacks", () => {
        const ok = validateClosed(calicoInstallation(calico({ registry: "harbor.lan" })));
        expect(validateClosed.errors ?? []).toEqual([]);
        expect(ok).toBe(true);
    });

    test("the check can fail: a bad encapsulation, a string blockSize and a misspelt field are rejected", () => {
        const good = calicoInstallation(makeSpec());
        const net = good.spec.calicoNetwork;
        const pool = net.ipPools[0];
        const withNetwork = (calicoNetwork: object) => ({ ...good, spec: { ...good.spec, calicoNetwork } });

        expect(validate(withNetwork({ ...net, ipPools: [{ ...pool, encapsulation: "VXLANAlways" }] }))).toBe(false);
        expect(validate.errors?.map((e) => e.instancePath)).toContain("/spec/calicoNetwork/ipPools/0/encapsulation");

        expect(validate(withNetwork({ ...net, ipPools: [{ ...pool, blockSize: "26" }] }))).toBe(false);
        expect(validate.errors?.map((e) => e.instancePath)).toContain("/spec/calicoNetwork/ipPools/0/blockSize");

        expect(validateClosed(withNetwork({ ...net, ipPool: [pool] }))).toBe(false);
    });
});

if (!haveSchemas) {
    test.skip(`Calico schema checks skipped: ${SCHEMA_DIR} is not present`, () => undefined);
}

describe("flannelChartValues", () => {
    test("pod CIDR and VXLAN backend; no image overrides without a registry", () => {
        expect(flannelChartValues(flannel({}))).toEqual({ podCidr: "10.244.0.0/16", flannel: { backend: "vxlan" } });
        expect(flannelChartValues(makeSpec({ podCidr: "10.42.0.0/16", cni: flannel().cni })).podCidr).toBe("10.42.0.0/16");
    });

    test("a registry overrides both image repositories under old and new chart keys, leaving tags alone", () => {
        expect(flannelChartValues(flannel({ registry: "harbor.lan/mirror/" }))).toEqual({
            podCidr: "10.244.0.0/16",
            flannel: {
                backend: "vxlan",
                image: { repository: "harbor.lan/mirror/flannel-io/flannel" },
                flannel_cni: { image: { repository: "harbor.lan/mirror/flannel-io/flannel-cni-plugin" } },
                image_cni: { repository: "harbor.lan/mirror/flannel-io/flannel-cni-plugin" },
            },
        });
    });
});
