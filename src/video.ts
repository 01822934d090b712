/**
 * Live video: classify the frames of a <video> as they come, skipping frames while a call is running,
 * and moving along a ladder of compute settings to hold a per-frame time budget (down when a call takes
 * longer than the budget, up again after a run of calls well inside it). Only an adaptive network can
 * trade compute for time per call like this: each rung lowers the halting threshold or caps iterations.
 */
import { DisposedError, OptionError } from './errors';
import type { ClassifyOptions, IamNNModel, Result } from './model';

/** One rung of the compute ladder: a per-call setting. */
export interface ComputeSetting {
  haltingThreshold?: number;
  /** The mirror vote's gate (0: off); unset: the call's own (the model's default). */
  mirrorBelow?: number;
  /** Fraction of every stage's maximum to cap at (rounded up, at least 1). */
  capFraction?: number;
}

/** From most to least compute: the model's own setting first, then without the mirror vote (its second pass is
 *  the costliest extra), then lower thresholds and caps. */
export const COMPUTE_LADDER: readonly ComputeSetting[] = [
  {}, { mirrorBelow: 0 }, { haltingThreshold: 0.9, mirrorBelow: 0 }, { haltingThreshold: 0.7, mirrorBelow: 0 },
  { haltingThreshold: 0.5, mirrorBelow: 0 }, { haltingThreshold: 0.5, capFraction: 0.5, mirrorBelow: 0 },
  { haltingThreshold: 0.5, capFraction: 0, mirrorBelow: 0 },
];

/** After this many calls in a row under UP_SHARE of the budget, step back up one rung. */
const UP_AFTER = 10;
const UP_SHARE = 0.6;

export interface VideoOptions extends Omit<ClassifyOptions, 'signal' | 'haltingThreshold' | 'maxIterations'> {
  /** Called with every frame's result. */
  onResult: (result: VideoResult) => void;
  /** Called when a frame fails (the loop goes on). Default: console.warn. */
  onError?: (error: unknown) => void;
  /** Target wall time per classified frame in ms; the loop moves along the compute ladder to hold it.
   *  Default: none (the model's own setting every frame). */
  frameBudgetMs?: number;
  /** Stops the loop, like `stop()`. */
  signal?: AbortSignal;
}

export interface VideoResult extends Result {
  /** Frames the video presented so far, this one included (classified + skipped). */
  frame: number;
  /** The ladder rung this frame ran at (0 = the model's own setting) and the setting it means. */
  level: number;
  setting: ComputeSetting;
  /** Wall time of this frame's call, ms (reading the frame included). */
  callMs: number;
}

export interface VideoLoop {
  stop(): void;
  readonly running: boolean;
  /** Resolves once the loop has stopped and its last call has ended. */
  readonly done: Promise<void>;
  readonly stats: { classified: number; skipped: number; level: number };
}

type FrameVideo = HTMLVideoElement & { requestVideoFrameCallback?: (cb: (now: number, meta: { presentedFrames: number }) => void) => number; cancelVideoFrameCallback?: (id: number) => void };

/**
 * Classify `video`'s frames until `stop()` (or `options.signal`): `const loop = classifyVideo(model, video,
 * { onResult: (r) => ..., frameBudgetMs: 30 })`. At most one call runs at a time; frames that arrive
 * meanwhile are skipped (counted in `stats.skipped`).
 */
export function classifyVideo(model: IamNNModel, video: HTMLVideoElement, options: VideoOptions): VideoLoop {
  if (typeof HTMLVideoElement === 'undefined' || !(video instanceof HTMLVideoElement)) {
    throw new OptionError('video', 'classifyVideo takes an HTMLVideoElement');
  }
  if (typeof options?.onResult !== 'function') throw new OptionError('onResult', 'expected a function called with each frame\'s result');
  const budget = options.frameBudgetMs;
  if (budget !== undefined && !(typeof budget === 'number' && budget > 0)) {
    throw new OptionError('frameBudgetMs', `${budget}; expected a number of milliseconds > 0`);
  }
  const { onResult, onError = (e: unknown) => console.warn('iamnn video frame failed:', e), frameBudgetMs, signal, ...callOptions } = options;
  const v = video as FrameVideo;
  const stats = { classified: 0, skipped: 0, level: 0 };
  let running = true;
  let busy: Promise<void> | null = null;
  let frames = 0;
  let fast = 0;
  let handle = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => { finish = resolve; });

  const settingAt = (level: number) => {
    const s = COMPUTE_LADDER[level];
    const caps = s.capFraction === undefined ? undefined : model.info.maxIterations.map((t) => Math.max(1, Math.ceil(t * (s.capFraction ?? 1))));
    return { haltingThreshold: s.haltingThreshold, maxIterations: caps, ...(s.mirrorBelow === undefined ? {} : { mirrorBelow: s.mirrorBelow }) };
  };

  const adapt = (ms: number) => {
    if (frameBudgetMs === undefined) return;
    if (ms > frameBudgetMs) {
      stats.level = Math.min(COMPUTE_LADDER.length - 1, stats.level + 1);
      fast = 0;
    } else if (ms < UP_SHARE * frameBudgetMs && ++fast >= UP_AFTER) {
      stats.level = Math.max(0, stats.level - 1);
      fast = 0;
    }
  };

  const classifyFrame = async () => {
    const level = stats.level;
    const t0 = performance.now();
    try {
      const r = await model.classify(video, { ...callOptions, ...settingAt(level) });
      const callMs = performance.now() - t0;
      stats.classified++;
      adapt(callMs);
      if (running) onResult({ ...r, frame: frames, level, setting: COMPUTE_LADDER[level], callMs });
    } catch (e) {
      if (e instanceof DisposedError) stop(); // the model is gone: nothing more to classify
      else if (running) onError(e);
    }
  };

  // A call that never yields to the event loop (WASM, CPU) gets one frame callback after it, however many
  // frames the camera presented meanwhile: requestVideoFrameCallback's presentedFrames counts them all.
  let lastPresented: number | undefined;
  const onFrame = (_now?: number, meta?: { presentedFrames?: number }) => {
    if (!running) return;
    const presented = meta?.presentedFrames;
    const arrived = presented !== undefined && lastPresented !== undefined ? Math.max(1, presented - lastPresented) : 1;
    lastPresented = presented;
    frames += arrived;
    if (busy) stats.skipped += arrived;
    else {
      stats.skipped += arrived - 1; // the frames before this one went by unclassified
      if (video.readyState >= 2) busy = classifyFrame().finally(() => { busy = null; });
    }
    schedule();
  };

  const schedule = () => {
    handle = v.requestVideoFrameCallback ? v.requestVideoFrameCallback(onFrame) : requestAnimationFrame(onFrame);
  };

  const stop = () => {
    if (!running) return;
    running = false;
    signal?.removeEventListener('abort', stop);
    if (v.cancelVideoFrameCallback) v.cancelVideoFrameCallback(handle);
    else cancelAnimationFrame(handle);
    void (busy ?? Promise.resolve()).then(finish);
  };
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  else schedule();
  return {
    stop,
    get running() { return running; },
    done,
    get stats() { return { ...stats }; },
  };
}
