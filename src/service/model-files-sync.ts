import type { Logger } from "pino";
import type { DatabasePool } from "slonik";
import { writeModelFiles } from "../ml/model-files.js";
import type { NotificationListener } from "../store/listener.js";
import { listActivatedVersions, MODELS_CHANNEL, readFirstActivation, readModelVersion } from "../store/models.js";
import { cardFileText, modelCard } from "./model-card.js";

/**
 * Keeps this replica's models directory in step with PostgreSQL: every version that has ever been
 * active gets its `<version>.onnx` and `<version>.json` (card). On start and after a lost LISTEN
 * connection it rebuilds whatever is missing or differs; on each activation (NOTIFY from any
 * replica) it writes that version. The files are copies: a failure to write them is logged and
 * never stops serving.
 */
export class ModelFilesSync {
  /** Writes started by notifications, awaited on close: once stopped, nothing writes to the directory. */
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(
    private readonly pool: DatabasePool,
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Rebuilds the directory now, then follows activations. */
  async start(listener: NotificationListener): Promise<void> {
    listener.on("notification", (channel: string, payload: string) => {
      if (channel === MODELS_CHANNEL) this.#track(this.write(payload));
    });
    listener.on("reconnected", () => this.#track(this.rebuild()));
    await this.rebuild();
  }

  /** Stops following activations and waits for the writes under way. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#inFlight]);
  }

  #track(write: Promise<void>): void {
    if (this.#closed) return;
    this.#inFlight.add(write);
    void write.finally(() => this.#inFlight.delete(write));
  }

  /** Writes the files of every version that has been active, where missing or different. */
  async rebuild(): Promise<void> {
    try {
      for (const version of await listActivatedVersions(this.pool)) await this.write(version);
    } catch (error) {
      this.log.error({ err: error, dir: this.dir }, "could not rebuild the models directory");
    }
  }

  /** Writes one version's files (after its activation), where missing or different. */
  async write(version: string): Promise<void> {
    try {
      const record = await readModelVersion(this.pool, version);
      if (!record) return;
      const card = modelCard(record, await readFirstActivation(this.pool, version));
      const written = await writeModelFiles(this.dir, version, new Uint8Array(record.onnx), cardFileText(card));
      if (written.length > 0) this.log.info({ version, files: written }, "model files written");
    } catch (error) {
      this.log.error({ err: error, version, dir: this.dir }, "could not write a model's files");
    }
  }
}
