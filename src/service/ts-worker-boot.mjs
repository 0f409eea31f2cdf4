// Starts a worker thread whose entry is a TypeScript source file. Only used when the service runs
// from its sources (the tests, under vitest): compiled builds start the worker's .js file
// directly. Registers tsx's loader in this thread, then imports the entry named in workerData.
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.entry);
