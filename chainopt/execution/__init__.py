"""Running plans on arrays: validation, the executor registry, the memory budget, workloads.

Imports the core; never imported by it.
"""

from chainopt.core.memory import MemoryEstimate
from chainopt.execution.budget import BUDGET_FLOOR, BUDGET_FRACTION, available_memory, check_memory, default_budget
from chainopt.execution.dask import execute_dask
from chainopt.execution.executor import (
    BASELINES,
    EXECUTORS,
    MULTI_DOT_MAX_FACTORS,
    Executor,
    execute,
    get_executor,
    memory_estimate,
    multi_dot,
    multiply,
)
from chainopt.execution.generalized import FactorProvider, MatrixFactors, execute_generalized, run_plan
from chainopt.execution.validate import check_jacobians, written_order
from chainopt.execution.workloads import random_jacobians, seeded_rng

__all__ = [
    "execute",
    "multiply",
    "multi_dot",
    "written_order",
    "check_jacobians",
    "Executor",
    "EXECUTORS",
    "get_executor",
    "BASELINES",
    "MULTI_DOT_MAX_FACTORS",
    "MemoryEstimate",
    "memory_estimate",
    "check_memory",
    "available_memory",
    "default_budget",
    "BUDGET_FRACTION",
    "BUDGET_FLOOR",
    "random_jacobians",
    "seeded_rng",
    "run_plan", "execute_generalized", "MatrixFactors", "FactorProvider",
    "execute_dask",
]
