// An app's view of the package: resolved through package.json's exports (TypeScript's "bundler"
// resolution, as Vite and webpack apps use), so the types come from dist/types.
import { load, IamNNError, type IamNNModel, type Result } from 'iamnn';

export async function firstLabel(url: string, image: HTMLCanvasElement): Promise<string> {
  const model: IamNNModel = await load(url, { backend: 'auto', onProgress: ({ fraction }) => void fraction });
  try {
    const r: Result = await model.classify(image, { haltingThreshold: 0.9 });
    return `${r.label} after ${r.iterations.join('/')} iterations`;
  } catch (e) {
    if (e instanceof IamNNError) return e.name;
    throw e;
  } finally {
    model.dispose();
  }
}
