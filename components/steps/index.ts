export * from "./params";
export * from "./registry";
