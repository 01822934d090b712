// An app that uses the SDK the way a bundler user does: `import ... from 'iamnn'`, with the
// tfjs peers from node_modules. e2e/app/vite.config.ts points 'iamnn' at the BUILT dist/iamnn.js.
import * as tf from '@tensorflow/tfjs-core';
import * as IamNN from 'iamnn';
// @ts-expect-error plain-JS test harness without types
import { runBrokenModels, runCached, runDeviceLoss, runHuge, runInputs, runParity, runSizes, runStalled, runVideo } from '../pages/harness.js';

const w = window as unknown as Record<string, unknown>;
// The app's tfjs-core is the SDK's (a peer dependency), so it sees the SDK's tensors.
w.runParity = (opts: unknown) => runParity(IamNN, opts, () => tf.memory().numTensors);
w.runInputs = (opts: unknown) => runInputs(IamNN, opts);
w.runSizes = (opts: unknown) => runSizes(IamNN, tf, opts);
w.runCached = (opts: unknown) => runCached(IamNN, opts);
w.runStalled = (opts: unknown) => runStalled(IamNN, opts);
w.runDeviceLoss = (opts: unknown) => runDeviceLoss(IamNN, tf, opts);
w.runHuge = (opts: unknown) => runHuge(IamNN, opts);
w.runBrokenModels = (opts: unknown) => runBrokenModels(IamNN, opts);
w.runVideo = (opts: unknown) => runVideo(IamNN, opts, () => tf.memory().numTensors);
w.clearCache = (name: string) => IamNN.clearCache(name);
w.harnessReady = true;
