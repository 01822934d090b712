// Worker mode's worker (dist/iamnn.worker.js) on the core count in this script's ?cores=N, for the threads
// test on a 2-core machine (tfjs runs at most hardwareConcurrency / 2 threads): CDP's
// Emulation.setHardwareConcurrencyOverride, which the test uses on pages, does not reach workers.
import './set-cores.js';
import '../../dist/iamnn.worker.js';
