/**
 * Every error the SDK throws is an {@link IamNNError}; subclasses carry the context needed to act on it.
 */
export class IamNNError extends Error {
  // Names are literals, not new.target.name: minified bundles rename classes.
  override name = 'IamNNError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `e` itself when it is an IamNNError, else an IamNNError saying `context`, with `e` as its cause: nothing
 *  unexpected (a raw tfjs or DOM error) escapes the SDK untyped. */
export function asIamNNError(e: unknown, context: string): IamNNError {
  if (e instanceof IamNNError) return e;
  return new IamNNError(`${context}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** model.json or a weight shard does not match the format (docs/model-format.md). */
export class ModelFormatError extends IamNNError {
  override name = 'ModelFormatError';
  /** The field path (`iamnn.stages[1].channels`) or weight name (`stage0/conv1`) at fault. */
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`invalid model: ${field}: ${problem}`);
    this.field = field;
  }
}

/** A model file could not be fetched. */
export class ModelLoadError extends IamNNError {
  override name = 'ModelLoadError';
  readonly url: string;
  readonly status?: number;
  constructor(url: string, problem: string, status?: number, cause?: unknown) {
    super(`could not load ${url}: ${problem}`, { cause });
    this.url = url;
    this.status = status;
  }
}

/** No requested backend could be initialised. `attempts` says why each one was skipped (none: none was left to try). */
export class BackendError extends IamNNError {
  override name = 'BackendError';
  readonly attempts: readonly BackendAttempt[];
  constructor(message: string, attempts: readonly BackendAttempt[]) {
    super(attempts.length ? `${message}: ${attempts.map((a) => `${a.backend} (${a.reason})`).join('; ')}` : message);
    this.attempts = attempts;
  }
}

/** An input the model cannot classify; `problem` names what is wrong with it. */
export class IamNNInputError extends IamNNError {
  override name = 'IamNNInputError';
  readonly problem: InputProblem;
  /** Position of the input in a `classifyBatch` call. */
  readonly index?: number;
  constructor(problem: InputProblem, detail: string, index?: number) {
    super(`bad input${index === undefined ? '' : ` #${index}`}: ${problem}: ${detail}`);
    this.problem = problem;
    this.index = index;
  }
}

/** An option passed to `load` or `classify` is not valid; the message lists the valid choices. */
export class OptionError extends IamNNError {
  override name = 'OptionError';
  readonly option: string;
  constructor(option: string, problem: string) {
    super(`invalid option ${option}: ${problem}`);
    this.option = option;
  }
}

/** The model was used after `dispose()`. */
export class DisposedError extends IamNNError {
  override name = 'DisposedError';
  constructor() {
    super('the model has been disposed');
  }
}

export type InputProblem =
  | 'missing'
  | 'unsupported-type'
  | 'empty'
  | 'not-loaded'
  | 'broken-image'
  | 'tainted'
  | 'bad-shape'
  | 'bad-dtype'
  | 'not-finite'
  | 'out-of-range'
  | 'empty-batch'
  | 'timed-out';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

export interface BackendAttempt {
  backend: BackendName;
  reason: string;
}
