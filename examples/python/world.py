"""A tiny stand-in for the orchestrator's real work: teams of agents that succeed or fail.

The orchestrator example does not run real agents; it draws each outcome from this small world,
whose truth is known, so the service has something to learn: one team is clearly the best, one
pair of agents conflicts, and everything else is ordinary.
"""

import math
import random

TASK_TYPE = "web_development"

# The teams the orchestrator would try on its own, before asking the service.
NATURAL_TEAMS = [
    ["ARCHITECT", "CONSTRUCTOR", "TESTBED"],  # the best team
    ["ARCHITECT", "CONSTRUCTOR"],
    ["CONSTRUCTOR", "TESTBED"],
    ["CONSTRUCTOR", "DEBUGGER", "TESTBED"],
    ["ARCHITECT", "DEBUGGER"],
    ["PATCHER", "LINTER"],  # the conflicting pair
    ["CONSTRUCTOR", "PATCHER", "LINTER"],
    ["ARCHITECT", "OPTIMIZER", "TESTBED"],
]
BEST_TEAM = frozenset(NATURAL_TEAMS[0])
BAD_PAIR = frozenset(["PATCHER", "LINTER"])
GENERIC_ERRORS = [
    "timeout: the task exceeded its time budget",
    "tests failed after the change",
]


def success_probability(agents):
    """The true chance that this team succeeds."""
    team = frozenset(agents)
    if team == BEST_TEAM:
        return 0.92
    if BAD_PAIR <= team:
        return 0.15
    return 0.55


def run_team(agents, rng):
    """Simulates running the team: (success, duration in seconds, error message)."""
    success = rng.random() < success_probability(agents)
    duration = 60.0 * (1 + 0.2 * len(agents)) * math.exp(rng.gauss(0, 0.3))
    if success:
        return True, duration, ""
    if BAD_PAIR <= frozenset(agents):
        return False, duration, "dependency conflict between PATCHER and LINTER"
    return False, duration, rng.choice(GENERIC_ERRORS)


def new_rng(seed):
    """A seeded random source, so a run can be repeated."""
    return random.Random(seed)
