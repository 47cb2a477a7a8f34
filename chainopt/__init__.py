"""chainopt: in which order to multiply a chain of Jacobians, and what each order costs.

A composition ``x_1 -> f_1 -> x_2 -> ... -> x_N`` (``x_k`` in ``R^{n_k}``) has the
Jacobian ``A_{N-1} @ ... @ A_1`` with ``A_k`` of shape ``(n_{k+1}, n_k)``.
Forward mode multiplies from the input side, reverse mode from the output
side; the cheapest bracketing is the matrix-chain problem.

>>> import chainopt as co
>>> chain = co.Chain([784, 512, 256, 10, 1])
>>> co.fwd_cost(chain), co.bwd_cost(chain)
(104775328, 535040)
>>> str(co.plan([100, 1000, 10, 1000, 100], "optimal"))
'(A4 A3) (A2 A1)'
"""

from chainopt import autodiff, layers
from chainopt.bench.harness import BenchmarkResult, TimingSpreadWarning, benchmark
from chainopt.core.chain import Chain, adjoint_sweep_cost, as_chain, bwd_cost, fwd_cost, tangent_sweep_cost
from chainopt.core.factors import Factor, read_factors
from chainopt.core.plan import Plan, Step
from chainopt.core.strategies import STRATEGIES, all_plans, optimal_cost_table, plan
from chainopt.errors import (
    ChainoptError,
    ChainTooLongError,
    DimensionError,
    ExpressionError,
    MemoryBudgetError,
    NonFiniteError,
    PlanSyntaxError,
    ResultMismatchError,
    ShapeError,
    UnknownStrategyError,
)
from chainopt.execution import execute, multi_dot, multiply, random_jacobians, written_order
from chainopt.report.cost import CostReport, compare, cost_report

__version__ = "0.1.0"

__all__ = [
    "Chain",
    "as_chain",
    "fwd_cost",
    "bwd_cost",
    "tangent_sweep_cost",
    "adjoint_sweep_cost",
    "Factor",
    "read_factors",
    "Plan",
    "Step",
    "plan",
    "STRATEGIES",
    "all_plans",
    "optimal_cost_table",
    "compare",
    "cost_report",
    "CostReport",
    "ChainoptError",
    "ChainTooLongError",
    "DimensionError",
    "ExpressionError",
    "MemoryBudgetError",
    "NonFiniteError",
    "PlanSyntaxError",
    "ResultMismatchError",
    "ShapeError",
    "UnknownStrategyError",
    "execute",
    "multiply",
    "multi_dot",
    "written_order",
    "random_jacobians",
    "layers",
    "autodiff",
    "benchmark",
    "BenchmarkResult",
    "TimingSpreadWarning",
]
