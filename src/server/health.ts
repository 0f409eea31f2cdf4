// The standard grpc.health.v1 service, so load balancers, Kubernetes probes and grpc_health_probe
// learn whether this replica can take traffic (PostgreSQL answers, migrations applied) or is draining.
import { EventEmitter, on } from "node:events";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

/** One status change of one service name, as the registry announces it to watchers. */
type StatusChange = [service: string, status: ServingStatus];

/** Serving status of the whole server ("") and of each named service, changed together. */
export class HealthRegistry {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #changes = new EventEmitter();
  #shutDown = false;

  /** Knows "" (the whole server) and each fully-qualified service name; all start NOT_SERVING until told otherwise. */
  constructor(serviceNames: Iterable<string>) {
    for (const name of ["", ...serviceNames]) this.#statuses.set(name, ServingStatus.NOT_SERVING);
    // Every open Watch stream listens here; the default limit of 10 would warn about normal load.
    this.#changes.setMaxListeners(0);
  }

  /** Marks every service SERVING or NOT_SERVING, as the readiness of the database changes; ignored after shutdown. */
  setServing(serving: boolean): void {
    if (this.#shutDown) return;
    this.#setAll(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  }

  /** Marks everything NOT_SERVING for good and ends open Watch streams, as graceful shutdown begins. */
  shutdown(): void {
    if (this.#shutDown) return;
    this.#setAll(ServingStatus.NOT_SERVING);
    this.#shutDown = true;
    this.#changes.emit("shutdown");
  }

  /** The current status of a service name, or undefined for a name this server does not know. */
  status(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** The current status, then each change, until the signal aborts or shutdown; SERVICE_UNKNOWN for an unknown name. */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
    if (signal.aborted) return;
    // Subscribe before reading the current status so that no change falls between the two.
    const changes = on(this.#changes, "change", { signal, close: ["shutdown"] }) as AsyncIterableIterator<StatusChange>;
    let last = this.status(service) ?? ServingStatus.SERVICE_UNKNOWN;
    try {
      yield last;
      if (this.#shutDown) return;
      for await (const [changed, status] of changes) {
        if (changed !== service || status === last) continue;
        last = status;
        yield status;
      }
    } catch (error) {
      // The client went away (or its deadline passed): that is how a Watch normally ends.
      if (!signal.aborted) throw error;
    } finally {
      await changes.return?.();
    }
  }

  #setAll(status: ServingStatus): void {
    for (const [name, previous] of this.#statuses) {
      if (previous === status) continue;
      this.#statuses.set(name, status);
      this.#changes.emit("change", name, status);
    }
  }
}

/** Serves grpc.health.v1.Health from the registry: Check for probes, Watch for clients that follow changes. */
export function registerHealth(router: ConnectRouter, registry: HealthRegistry): void {
  router.service(Health, {
    check(request) {
      const status = registry.status(request.service);
      if (status === undefined) throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      return { status };
    },
    async *watch(request, context) {
      for await (const status of registry.watch(request.service, context.signal)) yield { status };
    },
  });
}
