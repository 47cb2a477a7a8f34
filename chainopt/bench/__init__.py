"""The timing harness: interleaved repeats, autorange, spread, and the machine it ran on."""
