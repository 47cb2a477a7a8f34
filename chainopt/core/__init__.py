"""The numpy-only core: chains, factors, the cost model, plans, strategies, memory.

Nothing here does I/O or reads the machine; budgets are passed in.
"""
