// Validates Kubernetes objects against the API schemas, offline, with the npm packages
// kubernetes-models and @kubernetes-models/prometheus-operator (types, required fields, enums;
// unknown fields pass, so the Java tests check the fields that matter by name).
//   node validate-k8s.mjs NODE_MODULES_DIR < objects.json
// objects.json: a JSON array of objects, or an object mapping a name (a value set) to such arrays.
// Prints one line per object ("valid KIND NAME" or "INVALID KIND NAME: why", prefixed by
// "SET: " for a map); exit 0 when all are valid, 1 when one is not, 2 on bad input.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
if (!modules) {
  console.error("usage: node validate-k8s.mjs NODE_MODULES_DIR < objects.json");
  process.exit(2);
}
const input = JSON.parse(readFileSync(0, "utf8"));
const sets = Array.isArray(input) ? { "": input } : input;

function modelFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  if (group === "monitoring.coreos.com") {
    return join(modules, "@kubernetes-models/prometheus-operator", group, version, `${kind}.js`);
  }
  return join(modules, "kubernetes-models", ...(group ? [group, version] : [version]), `${kind}.js`);
}

async function validate(obj) {
  let model;
  try {
    model = (await import(pathToFileURL(modelFile(obj.apiVersion, obj.kind)).href))[obj.kind];
  } catch (e) {
    return `no model for ${obj.apiVersion} ${obj.kind} (${e.message})`;
  }
  try {
    new model(obj).validate();
    return null;
  } catch (e) {
    return e.message;
  }
}

let failed = 0;
for (const [set, objects] of Object.entries(sets)) {
  for (const obj of objects) {
    const problem = await validate(obj);
    const id = `${obj.kind} ${obj.metadata?.name}`;
    console.log(`${set ? set + ": " : ""}${problem ? `INVALID ${id}: ${problem}` : `valid ${id}`}`);
    failed += problem ? 1 : 0;
  }
}
process.exit(failed ? 1 : 0);
