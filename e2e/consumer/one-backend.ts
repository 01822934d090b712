// An app that bundles one backend: 'iamnn/wasm' has the API of 'iamnn'; a backend it leaves out is an OptionError.
import { load, OptionError, type LoadOptions } from 'iamnn/wasm';

export async function onWasm(url: string): Promise<string> {
  const options: LoadOptions = { backend: 'auto', wasmPaths: '/wasm/' };
  try {
    const model = await load(url, options);
    return model.info.backend;
  } catch (e) {
    if (e instanceof OptionError) return e.option;
    throw e;
  }
}
