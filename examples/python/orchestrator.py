#!/usr/bin/env python3
"""An orchestrator in Python that learns from agent-learning over gRPC.

What it does, in order:
1. follows the live insight feed (StreamInsights) in a background thread, remembering the cursor
   of every event so that a dropped stream resumes exactly where it stopped;
2. records the history it already has (RecordExecutions, a client stream);
3. for each new task, asks PredictAgents which team to use, "runs" the recommended team (the
   outcome is drawn from world.py), and records the execution with the recommendation id, so the
   service credits the outcome to that recommendation;
4. cuts the insight stream once on purpose, resumes it from its cursor, and checks that no event
   arrived twice;
5. reads GetStatus to show how the credited recommendations scored.

It exits 0 when every step behaved as the service promises, 1 otherwise. Stubs come from
proto/ via generate.sh (see README.md).
"""

import argparse
import os
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "gen"))

try:
    import grpc
    from agentlearning.v1 import admin_service_pb2 as admin_pb
    from agentlearning.v1 import admin_service_pb2_grpc as admin_grpc
    from agentlearning.v1 import execution_pb2
    from agentlearning.v1 import learning_pb2
    from agentlearning.v1 import learning_service_pb2 as learning_pb
    from agentlearning.v1 import learning_service_pb2_grpc as learning_grpc
except ImportError as missing:  # pragma: no cover - a setup problem, explained to the user
    sys.exit(f"cannot import the gRPC stubs or runtime ({missing}): run ./generate.sh with Debian's "
             "python3 (apt-get install python3-grpcio python3-protobuf); see README.md")

import world

CHUNK = 500  # executions per RecordExecutions message (the service accepts up to 1,000)


def channel_for(address, ca_file):
    """A channel to AGENT_LEARNING_ADDRESS: http:// is plaintext h2c, https:// is TLS."""
    url = urlparse(address if "://" in address else f"http://{address}")
    target = f"{url.hostname}:{url.port or 50051}"
    if url.scheme == "https":
        roots = open(ca_file, "rb").read() if ca_file else None
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=roots))
    return grpc.insecure_channel(target)


class InsightFollower:
    """Follows StreamInsights from the beginning of the feed and resumes after every break."""

    def __init__(self, learning, metadata):
        self._learning = learning
        self._metadata = metadata
        self._lock = threading.Lock()
        self._call = None
        self._stopping = threading.Event()
        self.cursor = ""
        self.connections = 0
        self.insights = []  # (insight_id, cursor, description), in arrival order
        self.messages_since_connect = 0
        self.duplicates = 0
        self.error = None
        self._seen = set()
        self._thread = threading.Thread(target=self._run, name="insights", daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        delay = 0.2
        while not self._stopping.is_set():
            # Resume after the last cursor seen; the very first stream replays the whole feed.
            request = learning_pb.StreamInsightsRequest(after_cursor=self.cursor, from_beginning=not self.cursor)
            with self._lock:
                self._call = self._learning.StreamInsights(request, metadata=self._metadata)
                self.connections += 1
                self.messages_since_connect = 0
            try:
                for event in self._call:
                    self._receive(event)
                    delay = 0.2
            except grpc.RpcError as error:
                if self._stopping.is_set():
                    return
                if error.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
                                    grpc.StatusCode.INVALID_ARGUMENT):
                    self.error = f"{error.code().name}: {error.details()}"
                    return
                # CANCELLED (our own cut below), UNAVAILABLE (server restart), and the like: resume.
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _receive(self, event):
        with self._lock:
            self.messages_since_connect += 1
            if event.HasField("insight"):
                insight = event.insight
                key = (insight.insight_id, insight.cursor)
                if key in self._seen:
                    self.duplicates += 1
                self._seen.add(key)
                self.insights.append((insight.insight_id, insight.cursor, insight.description))
                self.cursor = insight.cursor
                print(f"  insight  {insight.description}  (confidence {insight.confidence:.3f})", flush=True)
            elif event.heartbeat.cursor:
                self.cursor = event.heartbeat.cursor

    def drop_connection(self):
        """Cuts the current stream, as a network failure would; the thread resumes from the cursor."""
        with self._lock:
            if self._call is not None:
                self._call.cancel()

    def wait_for(self, condition, timeout):
        """Waits until condition(self) holds; returns whether it did within timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if condition(self):
                    return True
            time.sleep(0.1)
        return False

    def stop(self):
        self._stopping.set()
        self.drop_connection()
        self._thread.join(timeout=5)


def execution(execution_id, agents, outcome, complexity, recommendation=None):
    """The Execution message for one finished task."""
    success, duration, error = outcome
    message = execution_pb2.Execution(
        execution_id=execution_id,
        task_type=world.TASK_TYPE,
        complexity=complexity,
        agents=agents,
        duration_seconds=duration,
        success=success,
        error_message=error,
    )
    if recommendation is not None:
        message.recommendation_id = recommendation.recommendation_id
        message.model_version = recommendation.model_version
    return message


def record_history(learning, metadata, run_id, count, rng):
    """Uploads the orchestrator's past executions in one RecordExecutions stream."""
    past = []
    for n in range(count):
        agents = rng.choice(world.NATURAL_TEAMS)
        past.append(execution(f"{run_id}-past-{n}", agents, world.run_team(agents, rng), 2.0))

    def chunks():
        for start in range(0, len(past), CHUNK):
            yield learning_pb.RecordExecutionsRequest(executions=past[start:start + CHUNK])

    result = learning.RecordExecutions(chunks(), metadata=metadata).result
    return result.stored_count, len(result.rejected)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--address", default=os.environ.get("AGENT_LEARNING_ADDRESS", "http://localhost:50051"))
    parser.add_argument("--history", type=int, default=600, help="past executions to upload first")
    parser.add_argument("--tasks", type=int, default=40, help="new tasks to run on the service's advice")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--analyze", action="store_true",
                        help="ask for an analysis after each phase (needs an admin token when tokens are on)")
    args = parser.parse_args()

    token = os.environ.get("AGENT_LEARNING_TOKEN")
    metadata = [("authorization", f"Bearer {token}")] if token else []
    channel = channel_for(args.address, os.environ.get("AGENT_LEARNING_CA"))
    learning = learning_grpc.LearningServiceStub(channel)
    admin = admin_grpc.AdminServiceStub(channel)
    rng = world.new_rng(args.seed)
    run_id = f"py-{uuid.uuid4().hex[:8]}"
    failures = []

    status = admin.GetStatus(admin_pb.GetStatusRequest(), metadata=metadata, timeout=10)
    credited_before = status.prediction_accuracy.evaluated_count
    print(f"connected to {args.address}: service {status.service_version}, "
          f"{status.execution_count} executions, mode {learning_pb2.LearningMode.Name(status.learning_mode)}")

    follower = InsightFollower(learning, metadata)
    follower.start()

    stored, rejected = record_history(learning, metadata, run_id, args.history, rng)
    print(f"recorded {stored} past executions ({rejected} rejected)")
    if stored != args.history:
        failures.append(f"stored {stored} of {args.history} past executions")
    if args.analyze:
        admin.Analyze(admin_pb.AnalyzeRequest(), metadata=metadata, timeout=60)
    # Analysis also runs by itself (every ANALYSIS_EVERY_EXECUTIONS executions, or on a timer).
    if not follower.wait_for(lambda f: f.insights or f.error, 60):
        failures.append("no insight arrived on the stream within 60 s")

    # The orchestrator's real work: ask, run what the service recommends, credit the outcome.
    followed = successes = 0
    for n in range(args.tasks):
        complexity = 2.0
        own_pick = rng.choice(world.NATURAL_TEAMS)
        answer = learning.PredictAgents(
            learning_pb.PredictAgentsRequest(task_type=world.TASK_TYPE, complexity=complexity,
                                             max_recommendations=3, caller_default_agents=own_pick),
            metadata=metadata, timeout=10)
        if answer.applied and answer.recommendations:
            chosen = answer.recommendations[0]
            agents = list(chosen.agents)
            followed += 1
        else:
            chosen, agents = None, own_pick  # observation mode, or nothing confident enough
        outcome = world.run_team(agents, rng)
        successes += outcome[0]
        learning.RecordExecution(
            learning_pb.RecordExecutionRequest(execution=execution(f"{run_id}-task-{n}", agents, outcome, complexity, chosen)),
            metadata=metadata, timeout=10)
        if n == 0 and chosen is not None:
            low, high = chosen.success_interval.lower, chosen.success_interval.upper
            print(f"PredictAgents: {'+'.join(agents)}  p(success) {chosen.success_probability:.2f} "
                  f"[{low:.2f}, {high:.2f}]  propensity {chosen.propensity:.2f}  ({chosen.rationale})")
    print(f"ran {args.tasks} tasks, {followed} on the service's recommendation: {successes} succeeded")
    if followed == 0:
        failures.append("PredictAgents never recommended a team")

    # A network cut: the stream resumes after its last cursor and must not repeat anything.
    connections = follower.connections
    follower.drop_connection()
    if not follower.wait_for(lambda f: f.connections > connections, 10):
        failures.append("the insight stream did not reconnect")
    if args.analyze:
        admin.Analyze(admin_pb.AnalyzeRequest(), metadata=metadata, timeout=60)
    # The resumed stream delivers what was published meanwhile, or a heartbeat when idle.
    if not follower.wait_for(lambda f: f.messages_since_connect > 0, 30):
        failures.append("the resumed insight stream delivered nothing (no insight, no heartbeat) in 30 s")
    print(f"insight stream: {len(follower.insights)} events over {follower.connections} connections, "
          f"{follower.duplicates} repeated, resumed after cursor {follower.cursor or '(none)'}")
    if follower.duplicates:
        failures.append(f"{follower.duplicates} insight events arrived twice after resuming")
    if follower.error:
        failures.append(f"insight stream failed: {follower.error}")
    follower.stop()

    accuracy = admin.GetStatus(admin_pb.GetStatusRequest(), metadata=metadata, timeout=10).prediction_accuracy
    credited = accuracy.evaluated_count - credited_before
    print(f"credited recommendations: {credited} new ({accuracy.evaluated_count} in all), Brier score "
          f"{accuracy.brier_score:.3f}, predicted {accuracy.mean_predicted_success:.2f} vs observed "
          f"{accuracy.observed_success_rate:.2f}")
    if credited < followed:
        failures.append(f"only {credited} of {followed} followed recommendations were credited")

    channel.close()
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
