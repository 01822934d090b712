// Imported first by cores-worker.js: navigator.hardwareConcurrency reads the worker's ?cores=N.
const cores = Number(new URLSearchParams(self.location.search).get('cores'));
if (cores) Object.defineProperty(Object.getPrototypeOf(navigator), 'hardwareConcurrency', { get: () => cores });
