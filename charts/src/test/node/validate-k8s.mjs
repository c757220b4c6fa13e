// Validates Kubernetes objects against the API schemas, offline, with the npm packages
// kubernetes-models and @kubernetes-models/prometheus-operator (types, required fields, enums;
// unknown fields pass, so the Java tests check the fields that matter by name).
//   node validate-k8s.mjs NODE_MODULES_DIR < objects.json     (a JSON array of objects)
// Prints one line per object; exit 0 when all are valid, 1 when one is not, 2 on bad input.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
if (!modules) {
  console.error("usage: node validate-k8s.mjs NODE_MODULES_DIR < objects.json");
  process.exit(2);
}
const objects = JSON.parse(readFileSync(0, "utf8"));

function modelFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  if (group === "monitoring.coreos.com") {
    return join(modules, "@kubernetes-models/prometheus-operator", group, version, `${kind}.js`);
  }
  return join(modules, "kubernetes-models", ...(group ? [group, version] : [version]), `${kind}.js`);
}

let failed = 0;
for (const obj of objects) {
  const id = `${obj.kind} ${obj.metadata?.name}`;
  let model;
  try {
    model = (await import(pathToFileURL(modelFile(obj.apiVersion, obj.kind)).href))[obj.kind];
  } catch (e) {
    console.log(`INVALID ${id}: no model for ${obj.apiVersion} ${obj.kind} (${e.message})`);
    failed++;
    continue;
  }
  try {
    new model(obj).validate();
    console.log(`valid ${id}`);
  } catch (e) {
    console.log(`INVALID ${id}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
