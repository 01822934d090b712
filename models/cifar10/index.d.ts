/** The model's files as URLs an app's bundler copied: pass to `load()`. */
declare const model: { url: string; files: Record<string, string> };
export default model;
