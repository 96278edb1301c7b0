// Validates one glTF 2.0 file (.glb or .gltf with its resources) with Khronos'
// glTF-Validator and prints its JSON report on stdout.
// Usage: node validate.js FILE   (NODE_PATH must hold the installed gltf-validator)
"use strict";
const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

const file = process.argv[2];
const data = new Uint8Array(fs.readFileSync(file));
validator
  .validateBytes(data, {
    uri: path.basename(file),
    maxIssues: 0,
    externalResourceFunction: (uri) =>
      new Promise((resolve, reject) => {
        fs.readFile(path.join(path.dirname(file), decodeURIComponent(uri)), (err, bytes) =>
          err ? reject(err.toString()) : resolve(new Uint8Array(bytes)));
      }),
  })
  .then((report) => {
    process.stdout.write(JSON.stringify(report, null, 1) + "\n");
  })
  .catch((error) => {
    process.stderr.write(String(error) + "\n");
    process.exit(2);
  });
