/** classifyVideo's frame accounting (src/video.ts) with a scripted video and model: what the camera presented
 *  while a call ran counts as skipped, whether or not the page got a frame callback for it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyVideo, type IamNNModel, type VideoResult } from '../src/index';

/** A <video> whose frames the test presents, with requestVideoFrameCallback's presentedFrames counter. */
class ScriptedVideo {
  readyState = 4;
  private presented = 0;
  private waiting: ((now: number, meta: { presentedFrames: number }) => void)[] = [];
  requestVideoFrameCallback(cb: (now: number, meta: { presentedFrames: number }) => void) { this.waiting.push(cb); return this.waiting.length; }
  cancelVideoFrameCallback() { this.waiting = []; }
  /** `n` frames go by; the page's callbacks run after the last (a busy main thread runs them late, once). */
  present(n: number) {
    this.presented += n;
    const due = this.waiting;
    this.waiting = [];
    due.forEach((cb) => cb(0, { presentedFrames: this.presented }));
  }
}

const saved = (globalThis as Record<string, unknown>).HTMLVideoElement;
beforeAll(() => { (globalThis as Record<string, unknown>).HTMLVideoElement = ScriptedVideo; });
afterAll(() => { (globalThis as Record<string, unknown>).HTMLVideoElement = saved; });

/** A model whose calls end when the test says. */
function scriptedModel() {
  const pending: (() => void)[] = [];
  const model = {
    info: { maxIterations: [2, 4, 12] },
    classify: () => new Promise((resolve) => pending.push(() => resolve({ label: 'cat', flops: 1 }))),
  } as unknown as IamNNModel;
  const finishCall = async () => { pending.shift()!(); for (let i = 0; i < 5; i++) await Promise.resolve(); };
  return { model, finishCall };
}

describe('classifyVideo frame accounting', () => {
  it('frames presented during a call are skipped, also when their callback came only once, after it', async () => {
    const video = new ScriptedVideo();
    const { model, finishCall } = scriptedModel();
    const results: VideoResult[] = [];
    const loop = classifyVideo(model, video as unknown as HTMLVideoElement, { onResult: (r) => results.push(r) });
    video.present(1); // frame 1: a call starts
    video.present(1); // frame 2 while it runs, with a callback (a call that yields: WebGPU's readbacks)
    expect(loop.stats).toMatchObject({ classified: 0, skipped: 1 });
    await finishCall();
    video.present(4); // frames 3-6 went by during a call that did not yield: one late callback, at frame 6
    expect(loop.stats).toMatchObject({ classified: 1, skipped: 4 }); // 2, then 3-5; frame 6's call runs
    await finishCall();
    expect(results.map((r) => r.frame)).toEqual([2, 6]); // frames presented when each result came
    expect(loop.stats).toMatchObject({ classified: 2, skipped: 4 });
    loop.stop();
    await loop.done;
  });
});
