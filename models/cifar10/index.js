// The model as a module that bundlers follow (written by training/export.py):
//   import model from 'iamnn/models/<name>';  const m = await load(model);
export default {
  url: new URL('./model.json', import.meta.url).href,
  files: {
    'group1-shard1of2.bin': new URL('./group1-shard1of2.bin', import.meta.url).href,
    'group1-shard2of2.bin': new URL('./group1-shard2of2.bin', import.meta.url).href,
  },
};
