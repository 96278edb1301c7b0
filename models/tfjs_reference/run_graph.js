// Runs a TF.js graph model with the pure JavaScript CPU backend of TensorFlow.js and
// writes every output of the model's signature as raw little-endian float32.
//
// usage: node run_graph.js MODEL_JSON OUT_DIR INPUT.f32 [INPUT.f32 ...]
// Each INPUT.f32 holds one input tensor of the signature's (single) input shape as raw
// float32; for input `x.f32` the outputs go to OUT_DIR/x/<output name>.f32 and their
// shapes to OUT_DIR/x/shapes.json. NODE_PATH must point at the node_modules folder.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfconv = require('@tensorflow/tfjs-converter');

function artifactsFrom(modelJsonPath) {
  const model = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
  const dir = path.dirname(modelJsonPath);
  const specs = [];
  const buffers = [];
  for (const group of model.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  return {
    modelTopology: model.modelTopology,
    format: model.format,
    generatedBy: model.generatedBy,
    convertedBy: model.convertedBy,
    signature: model.signature,
    userDefinedMetadata: model.userDefinedMetadata,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
}

async function main() {
  const [modelJson, outDir, ...inputs] = process.argv.slice(2);
  if (!modelJson || !outDir || inputs.length === 0) {
    console.error('usage: node run_graph.js MODEL_JSON OUT_DIR INPUT.f32 [INPUT.f32 ...]');
    process.exit(2);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  const artifacts = artifactsFrom(modelJson);
  const model = await tfconv.loadGraphModel({ load: async () => artifacts });
  const sigInputs = Object.values(artifacts.signature.inputs);
  if (sigInputs.length !== 1) throw new Error('expected a single input');
  const inputName = sigInputs[0].name;
  const shape = sigInputs[0].tensorShape.dim.map((d) => Number(d.size));
  const outputNames = Object.keys(artifacts.signature.outputs).sort();
  for (const file of inputs) {
    const bytes = fs.readFileSync(file);
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const x = tf.tensor(values, shape, 'float32');
    const outs = await model.executeAsync({ [inputName]: x }, outputNames);
    const dest = path.join(outDir, path.basename(file, '.f32'));
    fs.mkdirSync(dest, { recursive: true });
    const shapes = {};
    for (let i = 0; i < outputNames.length; i++) {
      const data = await outs[i].data();
      const name = outputNames[i].replace(/:0$/, '');
      fs.writeFileSync(path.join(dest, name + '.f32'), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      shapes[name] = outs[i].shape;
      outs[i].dispose();
    }
    fs.writeFileSync(path.join(dest, 'shapes.json'), JSON.stringify(shapes));
    x.dispose();
  }
  console.log(`tfjs ${tf.version_core} backend ${tf.getBackend()}: ran ${inputs.length} input(s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
