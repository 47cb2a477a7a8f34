"""The benchmark: what is timed (workloads), how (harness), checked (check), returned (result), where (environment)."""
