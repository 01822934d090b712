/**
 * The `iamnn/cpu` entry: the API of `iamnn` with only tfjs's plain-JavaScript CPU backend (the smallest build,
 * and the slowest: for pages that must run without WebAssembly or WebGPU, or as a last fallback).
 */
import '@tensorflow/tfjs-backend-cpu';
import { enableBackend } from './backend';

enableBackend('cpu');

export * from './api';
